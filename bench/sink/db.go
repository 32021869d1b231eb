// Package sink is where the exactly-once family puts its effects: a
// database (SQLite in pure Go by default, PostgreSQL for real) holding the
// results, the consumer's offsets and an outbox. The harness reads the
// database's final state to count, per source record, how many times its
// effect landed.
package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Kinds of database.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open sink database.
type DB struct {
	db   *sql.DB
	kind string
	// writer serialises SQLite's writers in this process. SQLite has one
	// write lock and its busy handler sleeps and retries, so a relay
	// marking rows would starve behind transactions that follow each
	// other within milliseconds; Go's mutex hands over in FIFO order.
	writer sync.Mutex
}

func (d *DB) lockWriter() {
	if d.kind == SQLite {
		d.writer.Lock()
	}
}

func (d *DB) unlockWriter() {
	if d.kind == SQLite {
		d.writer.Unlock()
	}
}

// Open connects to a sink. For SQLite the DSN is a file path; for
// PostgreSQL a URL or key=value DSN. The connection is checked before
// Open returns, so a wrong DSN is one clear error.
func Open(ctx context.Context, kind, dsn string) (*DB, error) {
	var driver string
	switch kind {
	case SQLite:
		driver = "sqlite"
		// WAL survives a killed process without losing committed
		// transactions; busy_timeout lets the harness read while a
		// worker writes.
		dsn = "file:" + dsn + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	case Postgres:
		driver = "pgx"
	default:
		return nil, fmt.Errorf("unknown sink kind %q: use sqlite or postgres", kind)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s sink %s: %w", kind, Redact(dsn), err)
	}
	if kind == SQLite {
		// WAL lets the outbox relay read while a batch's transaction is
		// open; its writes wait (busy_timeout) for the batch to commit.
		db.SetMaxOpenConns(4)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s sink %s: %w; check the DSN (host, port, user, password, database)", kind, Redact(dsn), err)
	}
	return &DB{db: db, kind: kind}, nil
}

// Close closes the connection.
func (d *DB) Close() error { return d.db.Close() }

// Kind is sqlite or postgres.
func (d *DB) Kind() string { return d.kind }

// Redact hides a DSN's password, for errors, logs and results.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
		return dsn
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(strings.ToLower(f), "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// q rewrites ? placeholders into the database's own.
func (d *DB) q(s string) string {
	if d.kind != Postgres {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Tables names one phase's tables, so phases never see each other's rows.
type Tables struct{ Results, Offsets, Outbox string }

// TablesFor returns the table names for a prefix made of letters, digits
// and underscores.
func TablesFor(prefix string) Tables {
	return Tables{Results: prefix + "_results", Offsets: prefix + "_offsets", Outbox: prefix + "_outbox"}
}

// Setup creates the phase's tables. Results has no unique key unless
// unique is set: the exactly-once strategies must earn their guarantee, and
// a duplicate must be visible as a second row, not hidden by a constraint.
func (d *DB) Setup(ctx context.Context, t Tables, unique bool) error {
	key := ""
	if unique {
		key = ", PRIMARY KEY (src_partition, src_offset)"
	}
	stmts := []string{
		fmt.Sprintf(`CREATE TABLE %s (src_partition INTEGER NOT NULL, src_offset BIGINT NOT NULL, value BIGINT NOT NULL%s)`, t.Results, key),
		fmt.Sprintf(`CREATE TABLE %s (src_partition INTEGER PRIMARY KEY, next_offset BIGINT NOT NULL)`, t.Offsets),
		fmt.Sprintf(`CREATE TABLE %s (id BIGINT PRIMARY KEY, src_partition INTEGER NOT NULL, src_offset BIGINT NOT NULL, created_ns BIGINT NOT NULL, sent BOOLEAN NOT NULL DEFAULT FALSE)`, t.Outbox),
		fmt.Sprintf(`CREATE INDEX %s_unsent ON %s (sent, created_ns)`, t.Outbox, t.Outbox),
	}
	for _, s := range stmts {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("creating sink tables: %w", err)
		}
	}
	return nil
}

// Drop removes the phase's tables.
func (d *DB) Drop(ctx context.Context, t Tables) error {
	var errs []error
	for _, name := range []string{t.Results, t.Offsets, t.Outbox} {
		if _, err := d.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Offsets reads the next offset of every partition stored with the
// results: where a restarted worker resumes.
func (d *DB) Offsets(ctx context.Context, t Tables) (map[int32]int64, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT src_partition, next_offset FROM "+t.Offsets)
	if err != nil {
		return nil, fmt.Errorf("reading stored offsets: %w", err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, err
		}
		out[p] = o
	}
	return out, rows.Err()
}

// EachResult calls f for every result row (a duplicate is a second call).
func (d *DB) EachResult(ctx context.Context, t Tables, f func(p int32, o int64) error) error {
	rows, err := d.db.QueryContext(ctx, "SELECT src_partition, src_offset FROM "+t.Results)
	if err != nil {
		return fmt.Errorf("reading results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return err
		}
		if err := f(p, o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// OutboxRow is an outbox entry not yet published.
type OutboxRow struct {
	ID        int64
	Partition int32
	Offset    int64
	CreatedNs int64
}

// OutboxID is the outbox id of a source record's event: unique per record,
// so a downstream consumer can drop what the relay publishes twice.
func OutboxID(p int32, o int64) int64 { return int64(p)<<40 | o }

// Unsent returns up to limit unpublished outbox rows, oldest first (an
// outbox is a queue): of the partitions in parts only, unless parts is nil
// (a group member's relay publishes what it owns).
func (d *DB) Unsent(ctx context.Context, t Tables, limit int, parts []int32) ([]OutboxRow, error) {
	if parts != nil && len(parts) == 0 {
		return nil, nil
	}
	var where strings.Builder
	args := make([]any, 0, len(parts)+1)
	if parts != nil {
		where.WriteString(" AND src_partition IN (")
		for i, p := range parts {
			if i > 0 {
				where.WriteString(",")
			}
			where.WriteString("?")
			args = append(args, p)
		}
		where.WriteString(")")
	}
	args = append(args, limit)
	rows, err := d.db.QueryContext(ctx, d.q(fmt.Sprintf(
		"SELECT id, src_partition, src_offset, created_ns FROM %s WHERE NOT sent%s ORDER BY created_ns, id LIMIT ?", t.Outbox, where.String())), args...)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		if err := rows.Scan(&r.ID, &r.Partition, &r.Offset, &r.CreatedNs); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkSent records that the rows were published.
func (d *DB) MarkSent(ctx context.Context, t Tables, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("?")
		args[i] = id
	}
	d.lockWriter()
	defer d.unlockWriter()
	_, err := d.db.ExecContext(ctx, d.q(fmt.Sprintf("UPDATE %s SET sent = TRUE WHERE id IN (%s)", t.Outbox, b.String())), args...)
	if err != nil {
		return fmt.Errorf("marking outbox rows sent: %w", err)
	}
	return nil
}
