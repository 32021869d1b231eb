package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker/brokertest"
)

// A zombie — a consumer whose partition moved to a new owner while it was
// paused — writes its results with offsets conditional on the offset it
// last stored. The new owner moved that offset on, so the zombie's write
// is refused and its results roll back with it: every source record has
// exactly one result row.
func TestStoredOffsetsFenceAZombie(t *testing.T) {
	ctx := context.Background()
	dbs := map[string]*DB{SQLite: openSQLite(t)}
	if dsn := os.Getenv("COMMITBENCH_PG_DSN"); dsn != "" {
		pg, err := Open(ctx, Postgres, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		dbs[Postgres] = pg
	} else {
		brokertest.Require(t, "COMMITBENCH_REQUIRE_PG", errors.New("no PostgreSQL: COMMITBENCH_PG_DSN is unset"))
	}
	for kind, db := range dbs {
		t.Run(kind, func(t *testing.T) {
			tb := TablesFor(fmt.Sprintf("fence_%d", time.Now().UnixNano()))
			if err := db.Setup(ctx, tb, false); err != nil {
				t.Fatal(err)
			}
			defer db.Drop(ctx, tb)
			// batch opens a transaction holding records from..to-1 of
			// partition 0 and stores to, expecting expect; it rolls back
			// what it refuses.
			batch := func(from, to, expect int64) (*Tx, error) {
				tx, err := db.Begin(ctx, tb, false)
				if err != nil {
					return nil, err
				}
				for o := from; o < to; o++ {
					if err := tx.Add(ctx, 0, o, o); err != nil {
						tx.Rollback()
						return nil, err
					}
				}
				if err := tx.SaveOffsets(ctx, map[int32]int64{0: to}, map[int32]int64{0: expect}); err != nil {
					tx.Rollback()
					return nil, err
				}
				return tx, nil
			}
			commit := func(tx *Tx, err error) error {
				if err != nil {
					return err
				}
				return tx.Commit(ctx)
			}
			if err := commit(batch(0, 10, 0)); err != nil { // the first owner
				t.Fatal(err)
			}
			// The zombie last stored nothing: it expects 0, finds 10.
			if tx, err := batch(0, 5, 0); !errors.Is(err, ErrFenced) {
				if tx != nil {
					tx.Rollback() // its locks would hold the tables' drop
				}
				t.Fatalf("the zombie's write: %v, want ErrFenced", err)
			}
			if err := commit(batch(10, 15, 10)); err != nil { // the new owner goes on
				t.Fatal(err)
			}
			if kind == Postgres {
				// Two open transactions expecting the same offset: the
				// second waits on the first's row lock, and once the
				// first commits finds the offset moved on.
				first, err := batch(15, 20, 15)
				if err != nil {
					t.Fatal(err)
				}
				second := make(chan error, 1)
				go func() { second <- commit(batch(15, 20, 15)) }()
				if err := waitForLockWaiter(ctx, db); err != nil {
					first.Rollback()
					t.Fatal(err)
				}
				if err := first.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				if err := <-second; !errors.Is(err, ErrFenced) {
					t.Fatalf("the waiting zombie's write: %v, want ErrFenced", err)
				}
			} else if err := commit(batch(15, 20, 15)); err != nil {
				t.Fatal(err)
			}
			seen := map[int64]int{}
			if err := db.EachResult(ctx, tb, func(_ int32, o int64) error { seen[o]++; return nil }); err != nil {
				t.Fatal(err)
			}
			for o := range int64(20) {
				if seen[o] != 1 {
					t.Errorf("offset %d has %d result rows, want 1", o, seen[o])
				}
			}
			if len(seen) != 20 {
				t.Errorf("%d distinct results, want 20", len(seen))
			}
			if off, err := db.Offsets(ctx, tb); err != nil || off[0] != 20 {
				t.Errorf("stored offset %d (%v), want 20", off[0], err)
			}
		})
	}
}

// waitForLockWaiter returns once a session of this database waits on a
// lock — the second writer blocked behind the first's row — so the test
// takes the lock-wait path, not the one where the second simply came
// later. It polls PostgreSQL's own view of its sessions.
func waitForLockWaiter(ctx context.Context, db *DB) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			return fmt.Errorf("no session waited on the first writer's lock: %w", err)
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no session waited on the first writer's lock: %w", ctx.Err())
		case <-tick.C:
		}
	}
}
