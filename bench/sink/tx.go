package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// chunk is how many result rows go in one INSERT: one statement per record
// would measure the driver, not the strategy.
const chunk = 100

// Tx is one open database transaction of a strategy's batch.
type Tx struct {
	d       *DB
	tx      *sql.Tx
	t       Tables
	upsert  bool
	outbox  bool
	pending []int64 // partition, offset, value triples not yet inserted
}

// Begin opens a transaction. With upsert, a result row that exists already
// is left alone (the idempotent sink); without, it is inserted again.
func (d *DB) Begin(ctx context.Context, t Tables, upsert bool) (*Tx, error) {
	if err := d.lockWriter(ctx); err != nil {
		return nil, err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		d.unlockWriter()
		return nil, fmt.Errorf("beginning a sink transaction: %w", err)
	}
	return &Tx{d: d, tx: tx, t: t, upsert: upsert}, nil
}

// WithOutbox makes every result also write an outbox row (the outbox
// pattern: the event to publish commits with the business row).
func (x *Tx) WithOutbox() *Tx { x.outbox = true; return x }

// Add writes one record's result (inserted in chunks, inside the open
// transaction).
func (x *Tx) Add(ctx context.Context, p int32, o, value int64) error {
	x.pending = append(x.pending, int64(p), o, value)
	if len(x.pending) >= 3*chunk {
		return x.flush(ctx)
	}
	return nil
}

func (x *Tx) flush(ctx context.Context) error {
	n := len(x.pending) / 3
	if n == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (src_partition, src_offset, value) VALUES ", x.t.Results)
	args := make([]any, 0, len(x.pending))
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("(?,?,?)")
		args = append(args, x.pending[3*i], x.pending[3*i+1], x.pending[3*i+2])
	}
	if x.upsert {
		b.WriteString(" ON CONFLICT (src_partition, src_offset) DO NOTHING")
	}
	if _, err := x.tx.ExecContext(ctx, x.d.q(b.String()), args...); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if x.outbox {
		b.Reset()
		args = args[:0]
		now := time.Now().UnixNano()
		fmt.Fprintf(&b, "INSERT INTO %s (id, src_partition, src_offset, created_ns) VALUES ", x.t.Outbox)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,?)")
			p, o := int32(x.pending[3*i]), x.pending[3*i+1]
			args = append(args, OutboxID(p, o), p, o, now)
		}
		// A row there already is another writer's event of the same record
		// (a zombie's successor): the offset write fences this
		// transaction, so it must not fail first.
		b.WriteString(" ON CONFLICT (id) DO NOTHING")
		if _, err := x.tx.ExecContext(ctx, x.d.q(b.String()), args...); err != nil {
			return fmt.Errorf("writing outbox rows: %w", err)
		}
	}
	x.pending = x.pending[:0]
	return nil
}

// ErrFenced is a stored-offset write refused because the offset stored is
// not the one the writer expected: another consumer moved the partition on
// (a zombie's partitions went to a new owner). The transaction's results
// must be rolled back with it.
var ErrFenced = errors.New("stored offset moved on: fenced")

// SaveOffsets stores the next offset of each partition in the transaction.
// With expected, each write holds only where the stored offset is still
// expected[p] (0: none stored yet) — the conditional write that fences a
// zombie — and a refused one returns ErrFenced naming the partition; the
// caller rolls back. A nil expected writes unconditionally (the broken
// variant that does not fence).
func (x *Tx) SaveOffsets(ctx context.Context, next, expected map[int32]int64) error {
	q := fmt.Sprintf(`INSERT INTO %s (src_partition, next_offset) VALUES (?, ?)
		ON CONFLICT (src_partition) DO UPDATE SET next_offset = excluded.next_offset`, x.t.Offsets)
	if expected != nil {
		// On PostgreSQL a writer that waited on the row's lock checks
		// this against the row the other transaction committed.
		q += fmt.Sprintf(" WHERE %s.next_offset = ?", x.t.Offsets)
	}
	q = x.d.q(q)
	args := make([]any, 0, 3)
	// In partition order: two writers of overlapping partitions (a zombie
	// and the new owner) take the rows' locks in one order, so neither
	// deadlocks the other.
	for _, p := range slices.Sorted(maps.Keys(next)) {
		o := next[p]
		args = append(args[:0], p, o)
		if expected != nil {
			args = append(args, expected[p])
		}
		res, err := x.tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("storing offsets: %w", err)
		}
		if expected == nil {
			continue
		}
		// A first write inserts a row, an expected one updates it; a
		// write whose offset moved on touches none.
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("storing offsets: %w", err)
		} else if n == 0 {
			return fmt.Errorf("partition %d: expected stored offset %d: %w", p, expected[p], ErrFenced)
		}
	}
	return nil
}

// Commit writes what is pending and commits.
func (x *Tx) Commit(ctx context.Context) error {
	defer x.d.unlockWriter()
	if err := x.flush(ctx); err != nil {
		x.tx.Rollback()
		return err
	}
	if err := x.tx.Commit(); err != nil {
		return fmt.Errorf("committing the sink transaction: %w", err)
	}
	return nil
}

// Rollback abandons the transaction.
func (x *Tx) Rollback() error {
	defer x.d.unlockWriter()
	return x.tx.Rollback()
}
