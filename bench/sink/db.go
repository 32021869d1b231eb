// Package sink is where the exactly-once family puts its effects: a
// database (SQLite in pure Go by default, PostgreSQL for real) holding the
// results, the consumer's offsets and an outbox. The harness reads the
// database's final state to count, per source record, how many times its
// effect landed.
package sink

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// writer and lock serialise SQLite's writers: in this process, and
	// across the processes of a group (lock is a file beside the
	// database, held with flock). SQLite has one write lock and its busy
	// handler sleeps and retries, so a writer starves behind others that
	// follow each other within milliseconds: a group member waited out
	// its 10 s busy timeout (SQLITE_BUSY) while the other members' relays
	// and batches took the lock dozens of times. A blocked flock is woken
	// the moment the lock is free.
	writer sync.Mutex
	lock   *os.File
}

// lockWriter takes the write lock of a SQLite sink; on PostgreSQL, whose
// writers lock rows, it does nothing.
func (d *DB) lockWriter(ctx context.Context) error {
	if d.kind != SQLite {
		return nil
	}
	d.writer.Lock()
	// Most often the lock is free: taken here, no goroutine per batch.
	err := flock(d.lock, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return nil
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		d.writer.Unlock()
		return fmt.Errorf("taking the SQLite sink's write lock: %w", err)
	}
	got := make(chan error, 1)
	go func() { got <- flock(d.lock, syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			d.writer.Unlock()
			return fmt.Errorf("taking the SQLite sink's write lock: %w", err)
		}
		return nil
	case <-ctx.Done():
		// Given up: the lock, once it comes, goes straight back.
		go func() {
			if <-got == nil {
				_ = flock(d.lock, syscall.LOCK_UN)
			}
			d.writer.Unlock()
		}()
		return fmt.Errorf("waiting for the SQLite sink's write lock: %w", ctx.Err())
	}
}

func (d *DB) unlockWriter() {
	if d.kind == SQLite {
		_ = flock(d.lock, syscall.LOCK_UN)
		d.writer.Unlock()
	}
}

// flock applies how to f's lock, again where a signal interrupted it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Open connects to a sink. For SQLite the DSN is a file path; for
// PostgreSQL a URL or key=value DSN. The connection is checked before
// Open returns, so a wrong DSN is one clear error.
func Open(ctx context.Context, kind, dsn string) (*DB, error) {
	var driver string
	var lock *os.File
	switch kind {
	case SQLite:
		driver = "sqlite"
		f, err := os.OpenFile(dsn+".writer", os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening SQLite sink %s: its write lock: %w", dsn, err)
		}
		lock = f
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
		closeFile(lock)
		return nil, fmt.Errorf("opening %s sink %s: %w", kind, Redact(dsn), err)
	}
	if kind == SQLite {
		// WAL lets the outbox relay read while a batch's transaction is
		// open; its writers take turns on the lock file (lockWriter).
		db.SetMaxOpenConns(4)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		closeFile(lock)
		return nil, fmt.Errorf("connecting to %s sink %s: %w; check the DSN (host, port, user, password, database)", kind, Redact(dsn), err)
	}
	return &DB{db: db, kind: kind, lock: lock}, nil
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// Close closes the connection.
func (d *DB) Close() error {
	closeFile(d.lock)
	return d.db.Close()
}

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

// Claim opens a relay round: in one transaction it marks up to limit
// unsent outbox rows sent — of the partitions in parts only, unless parts
// is nil — and returns them oldest first (an outbox is a queue). The
// caller publishes them, then commits the claim, or rolls it back so a
// later round publishes them. Rows a round in flight has claimed are
// invisible to every other round — on SQLite the write lock waits for it,
// on PostgreSQL its row locks are skipped — so two relays, one of them a
// member that lost its partitions without knowing, never publish the same
// row; only a relay that dies between publishing and committing does,
// and the downstream consumer drops the repeat by outbox id. With nothing
// unsent the claim is nil. With parts nil the relay is the only one:
// there is no other round to hide its rows from, so it reads them outside
// any transaction and marks them at Commit — on SQLite the consumer's
// batches then never wait for its publish (holding the write lock through
// it cost the lone outbox 37–46 % of its throughput).
func (d *DB) Claim(ctx context.Context, t Tables, limit int, parts []int32) (*Claim, []OutboxRow, error) {
	if parts != nil && len(parts) == 0 {
		return nil, nil, nil
	}
	where := ""
	args := make([]any, 0, len(parts)+1)
	if parts != nil {
		where = " AND src_partition IN (" + placeholders(len(parts)) + ")"
		for _, p := range parts {
			args = append(args, p)
		}
	}
	unsent := fmt.Sprintf("SELECT id, src_partition, src_offset, created_ns FROM %s WHERE NOT sent%s ORDER BY created_ns, id LIMIT ?", t.Outbox, where)
	if parts == nil {
		rows, err := d.db.QueryContext(ctx, d.q(unsent), append(args, limit)...)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the outbox: %w", err)
		}
		out, err := scanOutbox(rows)
		if err != nil || len(out) == 0 {
			return nil, nil, err
		}
		c := &Claim{d: d, t: t, ids: make([]int64, len(out))}
		for i, r := range out {
			c.ids[i] = r.ID
		}
		return c, out, nil
	}
	// A look first, outside any transaction: most rounds find nothing,
	// and on SQLite a claim of nothing would still queue for the write
	// lock every other process's writers want.
	var one int
	err := d.db.QueryRowContext(ctx, d.q(fmt.Sprintf("SELECT 1 FROM %s WHERE NOT sent%s LIMIT 1", t.Outbox, where)), args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("reading the outbox: %w", err)
	}
	lock := ""
	if d.kind == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// The claim's first statement writes: SQLite takes its write lock at
	// once rather than failing to upgrade a read transaction another
	// writer got ahead of.
	if err := d.lockWriter(ctx); err != nil {
		return nil, nil, err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		d.unlockWriter()
		return nil, nil, fmt.Errorf("claiming outbox rows: %w", err)
	}
	c := &Claim{d: d, tx: tx}
	rows, err := tx.QueryContext(ctx, d.q(fmt.Sprintf(
		"UPDATE %[1]s SET sent = TRUE WHERE NOT sent AND id IN (SELECT id FROM %[1]s WHERE NOT sent%[2]s ORDER BY created_ns, id LIMIT ?%[3]s) RETURNING id, src_partition, src_offset, created_ns",
		t.Outbox, where, lock)), append(args, limit)...)
	if err != nil {
		c.Rollback()
		return nil, nil, fmt.Errorf("claiming outbox rows: %w", err)
	}
	out, err := scanOutbox(rows)
	if err != nil {
		c.Rollback()
		return nil, nil, fmt.Errorf("claiming outbox rows: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(out, func(a, b OutboxRow) int {
		return cmp.Or(cmp.Compare(a.CreatedNs, b.CreatedNs), cmp.Compare(a.ID, b.ID))
	})
	return c, out, nil
}

// scanOutbox reads outbox rows and closes them.
func scanOutbox(rows *sql.Rows) ([]OutboxRow, error) {
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		if err := rows.Scan(&r.ID, &r.Partition, &r.Offset, &r.CreatedNs); err != nil {
			return nil, fmt.Errorf("reading the outbox: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// placeholders is n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Claim is a relay round's hold on the rows it took: a transaction that
// marked them sent and commits with the claim, or, for the only relay
// (tx nil), the ids Commit marks.
type Claim struct {
	d    *DB
	tx   *sql.Tx
	done bool
	t    Tables
	ids  []int64
}

// Commit records the claimed rows as published. A nil claim (nothing was
// claimed) has nothing to commit.
func (c *Claim) Commit(ctx context.Context) error {
	if c == nil || c.done {
		return nil
	}
	c.done = true
	if c.tx == nil {
		return c.markSent(ctx)
	}
	defer c.d.unlockWriter()
	if err := c.tx.Commit(); err != nil {
		return fmt.Errorf("marking outbox rows sent: %w", err)
	}
	return nil
}

// markSent marks the only relay's rows sent, in chunks that let the
// consumer's transactions in between (SQLite has one writer).
func (c *Claim) markSent(ctx context.Context) error {
	for ids := c.ids; len(ids) > 0; {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		if err := c.d.lockWriter(ctx); err != nil {
			return err
		}
		_, err := c.d.db.ExecContext(ctx, c.d.q(fmt.Sprintf("UPDATE %s SET sent = TRUE WHERE id IN (%s)", c.t.Outbox, placeholders(n))), args...)
		c.d.unlockWriter()
		if err != nil {
			return fmt.Errorf("marking outbox rows sent: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// Rollback gives the claimed rows back unsent; after Commit, or on a nil
// claim, it does nothing.
func (c *Claim) Rollback() {
	if c == nil || c.done {
		return
	}
	c.done = true
	if c.tx == nil {
		return // nothing was marked
	}
	defer c.d.unlockWriter()
	_ = c.tx.Rollback()
}
