package sink

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@127.0.0.1:5432/db?sslmode=disable": "postgres://u:xxxxx@127.0.0.1:5432/db?sslmode=disable",
		"host=127.0.0.1 user=u password=s3cret dbname=db":       "host=127.0.0.1 user=u password=xxxxx dbname=db",
		"postgres://u@127.0.0.1/db":                             "postgres://u@127.0.0.1/db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A wrong DSN is one error that names the sink and hides the password.
func TestWrongDSN(t *testing.T) {
	_, err := Open(context.Background(), Postgres, "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "check the DSN") {
		t.Errorf("error %q leaks the password or lacks the fix", err)
	}
	if _, err := Open(context.Background(), "oracle", "x"); err == nil || !strings.Contains(err.Error(), "use sqlite or postgres") {
		t.Errorf("unknown kind: %v", err)
	}
}

// Results without a unique key keep a duplicate visible; with one, the
// upsert absorbs it. Offsets and results commit or vanish together.
// openSQLite opens a SQLite sink in the test's directory, closed with it.
func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), SQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteTransactions(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	for _, unique := range []bool{false, true} {
		tb := TablesFor(map[bool]string{false: "plain", true: "uniq"}[unique])
		if err := db.Setup(ctx, tb, unique); err != nil {
			t.Fatal(err)
		}
		write := func(commit bool, offsets ...int64) {
			tx, err := db.Begin(ctx, tb, unique)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range offsets {
				if err := tx.Add(ctx, 0, o, o); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.SaveOffsets(ctx, map[int32]int64{0: offsets[len(offsets)-1] + 1}, nil); err != nil {
				t.Fatal(err)
			}
			if commit {
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			} else if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
		write(true, 0, 1, 2)
		write(false, 3, 4) // rolled back: neither rows nor offsets
		write(true, 2, 3)  // 2 again
		rows := 0
		if err := db.EachResult(ctx, tb, func(int32, int64) error { rows++; return nil }); err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{false: 5, true: 4}[unique]
		if rows != want {
			t.Errorf("unique=%v: %d rows, want %d", unique, rows, want)
		}
		off, err := db.Offsets(ctx, tb)
		if err != nil {
			t.Fatal(err)
		}
		if off[0] != 4 {
			t.Errorf("stored offset %d, want 4", off[0])
		}
	}
}
