package runner

import (
	"errors"
	"os"
	"testing"

	"github.com/commitbench/commitbench/bench/broker/brokertest"
	"github.com/commitbench/commitbench/bench/spec"
)

// pgDSN returns the PostgreSQL the integration tests write to. CI starts
// one (scripts/postgres.sh) and sets COMMITBENCH_REQUIRE_PG=1, so there the
// tests fail rather than skip without it.
func pgDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("COMMITBENCH_PG_DSN")
	if dsn == "" {
		brokertest.Require(t, "COMMITBENCH_REQUIRE_PG", errors.New("no PostgreSQL: COMMITBENCH_PG_DSN is unset (scripts/postgres.sh start prints one)"))
	}
	return dsn
}

func TestExactlyOnceOnPostgres(t *testing.T) {
	dsn := pgDSN(t)
	for _, name := range []string{"exactly-once-db", "idempotent"} {
		t.Run(name, func(t *testing.T) {
			const n = 1000
			w := crashWorkload(t, name, n, 3)
			w.Sink = spec.Sink{Kind: "postgres", DSN: dsn}
			res := runOne(t, w)
			c := res.Crash
			if c == nil || c.Kills == 0 {
				t.Fatalf("no kill landed: %+v", c)
			}
			if res.Sink != "postgres" || res.EffectsIn != "db" {
				t.Errorf("result says sink %q, effects in %q", res.Sink, res.EffectsIn)
			}
			if c.Lost != 0 || c.Duplicates != 0 || res.Throughput.Lost != 0 || res.Throughput.Duplicates != 0 {
				t.Errorf("lost %d, duplicated %d (crash-free: %d, %d); want all 0", c.Lost, c.Duplicates, res.Throughput.Lost, res.Throughput.Duplicates)
			}
			for i, r := range c.ReplayPerCrash {
				if r > n {
					t.Errorf("crash %d replayed %d records; bound is %d", i+1, r, n)
				}
			}
		})
	}
	t.Run("broken", func(t *testing.T) {
		w := crashWorkload(t, "broken-eos-db", 1000, 3)
		w.Sink = spec.Sink{Kind: "postgres", DSN: dsn}
		res := runOne(t, w)
		if res.Crash == nil || res.Crash.Lost == 0 || len(res.Violations) == 0 {
			t.Fatalf("the broken strategy was not caught: %+v, violations %v", res.Crash, res.Violations)
		}
	})
}

// The zombie's commit on PostgreSQL, where a writer waiting on a row lock
// checks the fence against the row the other transaction committed.
func TestGroupZombieCommitOnPostgres(t *testing.T) {
	testZombieCommit(t, spec.Sink{Kind: "postgres", DSN: pgDSN(t)}, "exactly-once-db", "idempotent", "outbox", "broken-eos-db-open")
}
