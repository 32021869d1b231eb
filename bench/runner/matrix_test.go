package runner

import (
	"fmt"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

// matrixRecords is the topic of the crash matrix; polls are smaller than
// the count interval, so a trigger that fired per poll would show.
const matrixRecords = 20000

func matrixWorkload(t *testing.T, name string, iv spec.Interval) *spec.Workload {
	t.Helper()
	ivYAML := fmt.Sprintf("{records: %d}", iv.Records)
	switch iv.Kind() {
	case "time":
		ivYAML = fmt.Sprintf("{every: %s}", iv.Every)
	case "hybrid":
		ivYAML = fmt.Sprintf("{records: %d, every: %s}", iv.Records, iv.Every)
	}
	w, err := spec.Parse(fmt.Appendf(nil, `
name: matrix
topic: {partitions: 4, records: %d, record_bytes: 32}
processing: {cpu_us: 20}
strategies: [%s]
intervals: [%s]
crashes: {per_point: 4, seed: 11}
client: {session_timeout: 2s, max_poll_records: 100}
`, matrixRecords, name, ivYAML))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestCrashMatrix SIGKILLs every strategy at every kind of interval it
// accepts and holds it to its claim: loss and duplicates exactly, replay
// within its bound crash by crash, and commits as often as its interval
// says — no more (a trigger firing per poll), no fewer (a timer that never
// fires).
func TestCrashMatrix(t *testing.T) {
	const n = 500
	for _, name := range strategy.Names() {
		info, _ := strategy.Lookup(name)
		every := spec.Duration(max(50*time.Millisecond, time.Duration(info.MinEveryNs)))
		for _, iv := range []spec.Interval{{Records: n}, {Every: every}, {Records: n, Every: every}} {
			if ok, _ := info.Accepts(iv.Records, int64(iv.Every)); !ok || !info.TakesInterval() {
				continue
			}
			t.Run(name+"/"+iv.Kind(), func(t *testing.T) {
				res := runOne(t, matrixWorkload(t, name, iv))
				checkClaim(t, res, info, iv)
			})
		}
	}
}

func checkClaim(t *testing.T, res results.Result, info strategy.Info, iv spec.Interval) {
	t.Helper()
	checkCrashFree(t, res)
	c := crashed(t, res)
	if info.Guarantee.NoLoss() && c.Lost != 0 {
		t.Errorf("lost %d records under %s", c.Lost, info.Guarantee)
	}
	if info.Guarantee.NoDuplicates() && c.Duplicates != 0 {
		t.Errorf("%d duplicate effects under %s", c.Duplicates, info.Guarantee)
	}
	for _, b := range results.Check(res) {
		t.Errorf("breach: %s", b.Detail)
	}
	// With a count interval every crash has a replay bound to be held to.
	if iv.Records > 0 && info.Replay != strategy.ReplayUnbounded {
		for i := range c.ReplayPerCrash {
			if c.ReplayBound == nil && (i >= len(c.Landed) || c.Landed[i].ReplayBoundRecords == nil) {
				t.Errorf("crash %d has no replay bound to check", i+1)
			}
		}
	}
	tp := res.Throughput
	upper := int64(2) // the shutdown commit, and one a timer may add
	if iv.Records > 0 {
		upper += matrixRecords / iv.Records
	}
	if iv.Every > 0 {
		upper += int64(tp.WallSeconds / iv.Every.D().Seconds())
	}
	if tp.CommitsTotal > upper {
		t.Errorf("%d commits in a %.2f s phase at %s: more than the interval allows (%d)", tp.CommitsTotal, tp.WallSeconds, iv, upper)
	}
	// A window of three intervals holds at least two timed commits.
	if iv.Records == 0 && tp.MeasuredSeconds >= 3*iv.Every.D().Seconds() && tp.Commits < 2 {
		t.Errorf("%d commits in a %.2f s window at %s: the timer never fired", tp.Commits, tp.MeasuredSeconds, iv)
	}
}

// Marks must follow processing: with slow records and polls as long as the
// autocommit interval, kgo's timer lands inside nearly every poll, so a
// mark made before processing would commit records a kill then loses.
func TestAutocommitMarksCommitOnlyProcessed(t *testing.T) {
	w, err := spec.Parse([]byte(`
name: marks
topic: {partitions: 2, records: 2000, record_bytes: 32}
processing: {sleep_us: 1000}
strategies: [autocommit-marks]
intervals: [{every: 100ms}]
crashes: {per_point: 8, seed: 5}
client: {session_timeout: 2s, max_poll_records: 100}
`))
	if err != nil {
		t.Fatal(err)
	}
	res := runOne(t, w)
	info, _ := strategy.Lookup(strategy.AutocommitMarks)
	checkClaim(t, res, info, spec.Interval{Every: spec.Duration(100 * time.Millisecond)})
}

// occurrences picks, per kill point, which passage kills: one inside the
// second commit interval, so a commit has been made and one is pending.
var occurrences = map[string]int{
	strategy.KillProcessed:       750,
	strategy.KillCommitSent:      2,
	strategy.KillDBCommitted:     2,
	strategy.KillTxnProduced:     2,
	strategy.KillOutboxPublished: 1,
}

func killPointWorkload(t *testing.T, name, point string) *spec.Workload {
	t.Helper()
	w, err := spec.Parse(fmt.Appendf(nil, `
name: killpoint
topic: {partitions: 4, records: 10000, record_bytes: 32}
processing: {cpu_us: 20}
strategies: [%s]
intervals: [%s]
crashes: {per_point: 2, kill_point: {point: %s, occurrence: %d}}
client: {session_timeout: 2s, max_poll_records: 100}
`, name, map[bool]string{true: "{every: 100ms}", false: "{records: 500}"}[name == strategy.Autocommit || name == strategy.AutocommitMarks], point, occurrences[point]))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestKillPoints kills every strategy at every kill point its loop passes —
// the narrow windows random kills rarely hit — and holds it to its claim.
func TestKillPoints(t *testing.T) {
	testKillPoints(t, runOne, spec.Sink{})
}

// testKillPoints runs every strategy at every one of its kill points with
// run, the exactly-once family's database on sink (SQLite when empty).
func testKillPoints(t *testing.T, run func(*testing.T, *spec.Workload) results.Result, sink spec.Sink) {
	for _, name := range strategy.Names() {
		info, _ := strategy.Lookup(name)
		for _, point := range info.KillPoints {
			t.Run(name+"/"+point, func(t *testing.T) {
				w := killPointWorkload(t, name, point)
				if sink.Kind != "" {
					w.Sink = sink
				}
				res := run(t, w)
				c := crashed(t, res)
				for _, l := range c.Landed {
					if l.KillPoint != point {
						t.Errorf("a kill landed at %q, not at %q", l.KillPoint, point)
					}
				}
				checkClaim(t, res, info, w.Intervals[0])
			})
		}
	}
}

// Offsets written in a second database transaction after the results: a
// kill between the two (db-committed) leaves results whose offsets were
// never stored, and the replay duplicates them.
func TestKillPointCatchesSplitTransactions(t *testing.T) {
	res := runOne(t, killPointWorkload(t, strategy.BrokenEOSDBSplit, strategy.KillDBCommitted))
	if c := crashed(t, res); c.Duplicates == 0 {
		t.Fatalf("no duplicate effect after a kill between the two transactions: %+v", c)
	}
	if len(results.Check(res)) == 0 {
		t.Fatal("duplicates under an exactly-once claim raised no breach")
	}
}
