package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/worker"
)

// The test binary doubles as the worker: re-executed with this variable
// set, it runs one worker process instead of the tests.
const workerEnv = "COMMITBENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		// As commitbench's main: SIGTERM is a group member's clean end.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		cfg, err := worker.ReadConfig(os.Stdin)
		if err == nil {
			err = worker.Run(ctx, cfg, os.NewFile(worker.WireFD, "wire"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testWorker(context.Context) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	return cmd
}

// crashWorkload is small enough for the race detector yet long enough that
// planned kills land while the worker is busy.
func crashWorkload(t *testing.T, strategy string, records int64, kills int) *spec.Workload {
	t.Helper()
	w, err := spec.Parse(fmt.Appendf(nil, `
name: test
topic: {partitions: 4, records: 20000, record_bytes: 32}
processing: {cpu_us: 20}
strategies: [%s]
intervals: [{records: %d}]
crashes: {per_point: %d, seed: 7}
client: {session_timeout: 2s}
`, strategy, records, kills))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runOne runs the workload's first point on a fresh embedded broker.
func runOne(t *testing.T, w *spec.Workload) results.Result {
	t.Helper()
	b, err := broker.StartEmbedded(broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return runOn(t, b, w)
}

// runOn runs the workload's first point on the given broker.
func runOn(t *testing.T, b broker.Broker, w *spec.Workload) results.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A run id of its own: several runs on one real broker must not share
	// a group's committed offsets.
	r := New(w, b, fmt.Sprintf("test%d", runs.Add(1)), WithWorkerCommand(testWorker), WithLog(testLog{t}))
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	points, _ := w.Plan()
	res, err := r.Point(ctx, points[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: throughput %.0f rec/s, commits %d; crash: %+v", b.Describe().Label(), res.Throughput.RecordsPerSec, res.Throughput.Commits, res.Crash)
	return res
}

var runs atomic.Int64

// checkCrashFree asserts the crash-free phase applied every effect once.
func checkCrashFree(t *testing.T, res results.Result) {
	t.Helper()
	if res.Throughput.Lost != 0 || res.Throughput.Duplicates != 0 {
		t.Errorf("crash-free phase: lost %d, duplicates %d; want 0, 0", res.Throughput.Lost, res.Throughput.Duplicates)
	}
}

// crashed returns the crash phase, failing the test if no kill landed.
func crashed(t *testing.T, res results.Result) *results.Crash {
	t.Helper()
	if res.Crash == nil || res.Crash.Kills == 0 {
		t.Fatalf("no kill landed: %+v", res.Crash)
	}
	return res.Crash
}

// checkAtLeastOnce asserts at-least-once with a commit every n records:
// nothing lost, no crash replaying more than n, every duplicate accounted
// to a crash, no violation.
func checkAtLeastOnce(t *testing.T, res results.Result, n int64) {
	t.Helper()
	checkCrashFree(t, res)
	c := crashed(t, res)
	if c.Lost != 0 {
		t.Errorf("lost %d records under at-least-once; want 0", c.Lost)
	}
	for i, r := range c.ReplayPerCrash {
		if r > n {
			t.Errorf("crash %d replayed %d records; bound is %d", i+1, r, n)
		}
	}
	if c.Duplicates != sum(c.ReplayPerCrash) {
		t.Errorf("duplicates %d != sum of per-crash replay %d", c.Duplicates, sum(c.ReplayPerCrash))
	}
	if len(res.Violations) != 0 {
		t.Errorf("violations: %v", res.Violations)
	}
}

// checkAtMostOnce asserts at-most-once with a commit every n records: no
// duplicate, no crash losing more than n, every loss accounted to a crash.
func checkAtMostOnce(t *testing.T, res results.Result, n int64) {
	t.Helper()
	checkCrashFree(t, res)
	c := crashed(t, res)
	if c.Duplicates != 0 {
		t.Errorf("at-most-once applied %d duplicates; want 0", c.Duplicates)
	}
	for i, l := range c.LostPerCrash {
		if l > n {
			t.Errorf("crash %d lost %d records; bound is %d", i+1, l, n)
		}
	}
	if c.Lost != sum(c.LostPerCrash) {
		t.Errorf("lost %d in all, but per-crash losses add up to %d", c.Lost, sum(c.LostPerCrash))
	}
	if len(res.Violations) != 0 {
		t.Errorf("violations: %v", res.Violations)
	}
}

// checkLandings asserts every planned kill landed at or past its position
// and the kills reached every quartile of the topic.
func checkLandings(t *testing.T, res results.Result, records int64) {
	t.Helper()
	c := crashed(t, res)
	if len(c.Landed) != c.Kills || c.Kills != c.Planned {
		t.Fatalf("%d kills, %d landings, %d planned", c.Kills, len(c.Landed), c.Planned)
	}
	var quartiles [4]int
	for i, l := range c.Landed {
		if l.AtRecords < l.PlannedAtRecords {
			t.Errorf("kill %d landed at %d records, before its position %d", i+1, l.AtRecords, l.PlannedAtRecords)
		}
		quartiles[min(3, 4*l.AtRecords/records)]++
	}
	for q, k := range quartiles {
		if k == 0 {
			t.Errorf("no kill landed in quartile %d of the topic: %+v", q+1, c.Landed)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }

func sum(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

func TestAtLeastOnceSyncCrashes(t *testing.T) {
	const n = 500
	res := runOne(t, crashWorkload(t, "at-least-once-sync", n, 8))
	checkAtLeastOnce(t, res, n)
	checkLandings(t, res, 20000)
	// Two measures of one thing, taken apart: the ledger's replay can only
	// be smaller than what the worker processed since its last commit (a
	// commit in flight may still land after the kill).
	for i, l := range res.Crash.Landed {
		if l.SinceCommitRecords == nil {
			continue
		}
		if since := *l.SinceCommitRecords; since < 0 || since > n || res.Crash.ReplayPerCrash[i] > since {
			t.Errorf("crash %d: %d records since the last commit (bound %d), replayed %d", i+1, since, n, res.Crash.ReplayPerCrash[i])
		}
	}
	// Every commit of the phase, warm-up and the shutdown commit included,
	// and never more in the window than in the phase.
	if tp := res.Throughput; tp.CommitsTotal < 20000/n || tp.Commits >= tp.CommitsTotal {
		t.Errorf("%d commits (%d in the window) for 20000 records every %d; want at least %d, and fewer in the window", tp.CommitsTotal, tp.Commits, n, 20000/n)
	}
}

func TestAtMostOnceCrashes(t *testing.T) {
	const n = 1000
	checkAtMostOnce(t, runOne(t, crashWorkload(t, "at-most-once", n, 3)), n)
}

// A strategy that commits before its effects are durable, yet claims
// at-least-once, must be caught by the ledger.
func TestBrokenStrategyIsCaught(t *testing.T) {
	res := runOne(t, crashWorkload(t, "broken-commit-ahead", 1000, 3))
	if res.Crash == nil || res.Crash.Lost == 0 {
		t.Fatalf("the broken strategy lost nothing: %+v", res.Crash)
	}
	if len(res.Violations) == 0 {
		t.Fatalf("loss under an at-least-once claim raised no violation")
	}
}

// The exactly-once family: several SIGKILLs, most landing inside an open
// database or Kafka transaction, and not one effect lost or duplicated.
func TestExactlyOnceCrashes(t *testing.T) {
	for _, name := range []string{"exactly-once-db", "idempotent", "transactional", "outbox"} {
		t.Run(name, func(t *testing.T) {
			const n = 1000
			res := runOne(t, crashWorkload(t, name, n, 3))
			checkCrashFree(t, res)
			c := crashed(t, res)
			if c.Lost != 0 || c.Duplicates != 0 {
				t.Errorf("lost %d, duplicated %d effects; want 0 and 0", c.Lost, c.Duplicates)
			}
			if sum(c.ReplayPerCrash) == 0 {
				t.Errorf("no replay was absorbed: the kills landed outside every batch, so the test proved nothing")
			}
			for i, r := range c.ReplayPerCrash {
				if r > n {
					t.Errorf("crash %d replayed %d records; bound is %d", i+1, r, n)
				}
			}
			if len(res.Violations) != 0 {
				t.Errorf("violations: %v", res.Violations)
			}
			if name == "outbox" {
				// The relay may publish twice; after deduplication by
				// outbox id every event is there, once.
				r := c.Relay
				if r == nil || r.Missing != 0 || r.Published != 20000+r.Duplicates {
					t.Errorf("relay %+v: want every event published, repeats counted", r)
				}
				t.Logf("relay, crash phase: %+v; crash-free: %+v", r, res.Throughput.Relay)
			}
		})
	}
}

// Offsets committed outside the database transaction lose results when a
// kill lands inside it: the same check must catch it.
func TestBrokenExactlyOnceIsCaught(t *testing.T) {
	res := runOne(t, crashWorkload(t, "broken-eos-db", 1000, 3))
	if res.Crash == nil || res.Crash.Lost == 0 {
		t.Fatalf("the broken strategy lost nothing: %+v", res.Crash)
	}
	if len(res.Violations) == 0 {
		t.Fatal("loss under an exactly-once claim raised no violation")
	}
}

// Table names stay within PostgreSQL's 63 bytes whatever the run id, and
// differ between runs and phases.
func TestTablePrefix(t *testing.T) {
	long := strings.Repeat("nightly-build-", 10)
	a, b := tablePrefix(long, "p12-crash"), tablePrefix(long+"x", "p12-crash")
	if a == b || a == tablePrefix(long, "p12-tput") {
		t.Errorf("prefixes collide: %s %s", a, b)
	}
	if n := len(a + "_outbox_unsent"); n > 63 {
		t.Errorf("%s_outbox_unsent is %d bytes", a, n)
	}
}
