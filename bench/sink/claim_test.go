package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker/brokertest"
)

// Two relays on one outbox — the second a new owner while the first, a
// member that lost its partitions without knowing, still has a round in
// flight — never claim the same row: the second gets only what the first
// did not, whether it waited for the first (SQLite's write lock) or
// skipped its rows (PostgreSQL's row locks). A round rolled back gives
// its rows back.
func TestClaimsNeverOverlap(t *testing.T) {
	ctx := context.Background()
	type pair struct{ a, b *DB }
	// Two connections to one database, as two worker processes have.
	openTwo := func(kind, dsn string) pair {
		var two [2]*DB
		for i := range two {
			db, err := Open(ctx, kind, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			two[i] = db
		}
		return pair{two[0], two[1]}
	}
	pairs := map[string]pair{SQLite: openTwo(SQLite, filepath.Join(t.TempDir(), "s.db"))}
	if dsn := os.Getenv("COMMITBENCH_PG_DSN"); dsn != "" {
		pairs[Postgres] = openTwo(Postgres, dsn)
	}
	for _, kind := range []string{SQLite, Postgres} {
		pr, ok := pairs[kind]
		if !ok {
			brokertest.Require(t, "COMMITBENCH_REQUIRE_PG", errors.New("no PostgreSQL: COMMITBENCH_PG_DSN is unset"))
			continue
		}
		t.Run(kind, func(t *testing.T) {
			tb := TablesFor(fmt.Sprintf("claim_%d", time.Now().UnixNano()))
			if err := pr.a.Setup(ctx, tb, false); err != nil {
				t.Fatal(err)
			}
			defer pr.a.Drop(ctx, tb)
			tx, err := pr.a.Begin(ctx, tb, false)
			if err != nil {
				t.Fatal(err)
			}
			tx.WithOutbox()
			for o := range int64(10) {
				if err := tx.Add(ctx, int32(o%2), o, o); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			both := []int32{0, 1}

			// A round rolled back (its publish failed) leaves its rows.
			c, rows, err := pr.a.Claim(ctx, tb, 3, both)
			if err != nil || len(rows) != 3 {
				t.Fatalf("first claim: %d rows, %v; want 3", len(rows), err)
			}
			c.Rollback()

			first, held, err := pr.a.Claim(ctx, tb, 4, both)
			if err != nil || len(held) != 4 {
				t.Fatalf("held claim: %d rows, %v; want 4", len(held), err)
			}
			defer first.Rollback() // on a failure: the drop waits for its locks
			if held[0].ID != rows[0].ID {
				t.Errorf("after a rollback the claim starts at id %d, want %d again", held[0].ID, rows[0].ID)
			}
			// The second relay's round while the first's is in flight:
			// PostgreSQL skips the held rows, SQLite waits on the write
			// lock until the deadline (a claim that waited is empty).
			var other []OutboxRow
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			if c, rows, err := pr.b.Claim(wctx, tb, 100, both); err == nil {
				other = rows
				if err := c.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			} else if kind == Postgres {
				t.Fatalf("PostgreSQL waited for the round in flight instead of skipping its rows: %v", err)
			}
			cancel()
			if err := first.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			c, rest, err := pr.b.Claim(ctx, tb, 100, both)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			seen := map[int64]int{}
			for _, r := range slices.Concat(held, other, rest) {
				seen[r.ID]++
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("outbox row %d claimed %d times", id, n)
				}
			}
			if len(seen) != 10 {
				t.Errorf("%d rows claimed, want all 10", len(seen))
			}
			// Everything is sent: nothing is left to claim.
			c, rows, err = pr.a.Claim(ctx, tb, 100, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Rollback()
			if len(rows) != 0 {
				t.Errorf("after both rounds %d rows are left unsent, want 0", len(rows))
			}
		})
	}
}

// The only relay's claim takes no lock and marks nothing until Commit: a
// rollback (its publish failed) leaves the rows for the next round, a
// commit marks them sent.
func TestLoneClaimMarksAtCommit(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	tb := TablesFor("lone")
	if err := db.Setup(ctx, tb, false); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	tx.WithOutbox()
	for o := range int64(5) {
		if err := tx.Add(ctx, 0, o, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	claim := func() (*Claim, int) {
		c, rows, err := db.Claim(ctx, tb, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, len(rows)
	}
	c, n := claim()
	c.Rollback()
	if c, again := claim(); n != 5 || again != 5 {
		t.Fatalf("claimed %d, then %d after a rollback; want 5 and 5", n, again)
	} else if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if c, left := claim(); left != 0 || c != nil {
		t.Errorf("%d rows left unsent after the commit, want 0", left)
	}
}
