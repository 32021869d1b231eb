package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	sqlite, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	dbs := map[string]*DB{SQLite: sqlite}
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
			// partition 0 and stores to, expecting expect.
			batch := func(from, to, expect int64) (*Tx, error) {
				tx, err := db.Begin(ctx, tb, false)
				if err != nil {
					t.Fatal(err)
				}
				for o := from; o < to; o++ {
					if err := tx.Add(ctx, 0, o, o); err != nil {
						t.Fatal(err)
					}
				}
				if err := tx.SaveOffsets(ctx, map[int32]int64{0: to}, map[int32]int64{0: expect}); err != nil {
					tx.Rollback()
					return nil, err
				}
				return tx, nil
			}
			commit := func(tx *Tx, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			commit(batch(0, 10, 0)) // the first owner
			// The zombie last stored nothing: it expects 0, finds 10.
			if tx, err := batch(0, 5, 0); !errors.Is(err, ErrFenced) {
				if tx != nil {
					tx.Rollback() // its locks would hold the tables' drop
				}
				t.Fatalf("the zombie's write: %v, want ErrFenced", err)
			}
			commit(batch(10, 15, 10)) // the new owner goes on
			if kind == Postgres {
				// Two open transactions expecting the same offset: the
				// second waits on the first's row lock, then finds the
				// offset moved on, whenever it got there.
				first, err := batch(15, 20, 15)
				if err != nil {
					t.Fatal(err)
				}
				second := make(chan error, 1)
				go func() {
					tx, err := db.Begin(ctx, tb, false)
					if err != nil {
						second <- err
						return
					}
					for o := int64(15); o < 20; o++ {
						if err := tx.Add(ctx, 0, o, o); err != nil {
							second <- err
							return
						}
					}
					err = tx.SaveOffsets(ctx, map[int32]int64{0: 20}, map[int32]int64{0: 15})
					if err == nil {
						err = tx.Commit(ctx)
					} else {
						tx.Rollback()
					}
					second <- err
				}()
				commit(first, nil)
				if err := <-second; !errors.Is(err, ErrFenced) {
					t.Fatalf("the concurrent zombie's write: %v, want ErrFenced", err)
				}
			} else {
				commit(batch(15, 20, 15))
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
