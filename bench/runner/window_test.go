package runner

import (
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/results"
)

const ms = int64(time.Millisecond)

// progressEvery builds cumulative progress samples: n records every step
// from t0, k samples.
func progressEvery(t0, step, n int64, k int) []sample {
	var ps []sample
	for i := 1; i <= k; i++ {
		ps = append(ps, sample{at: t0 + int64(i)*step, v: int64(i) * n})
	}
	return ps
}

func TestWindowExcludesWarmupAndShutdown(t *testing.T) {
	// 10 marks, 1,000 records each, 10 ms apart; the last record at 100 ms.
	ps := progressEvery(0, 10*ms, 1000, 10)
	// A shutdown: the final mark repeated after a slow ending step.
	ps = append(ps, sample{at: 600 * ms, v: 10_000})
	w, err := steadyWindow(ps, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if w.from.v != 2000 || w.to.v != 10_000 || w.to.at != 100*ms {
		t.Fatalf("window %+v: want from the 2,000th record to the last at 100 ms", w)
	}
	// Commits: one in the warm-up, two inside, the final one in the
	// shutdown; the worker reports its end at 600 ms.
	ph := &phase{commits: []sample{{at: 15 * ms, v: 1000}, {at: 50 * ms, v: 2000}, {at: 100 * ms, v: 3000}, {at: 550 * ms, v: 500_000}}}
	var slow, quick results.Throughput
	if err := ph.measureWindow(&slow, w, 600*ms); err != nil {
		t.Fatal(err)
	}
	if slow.Commits != 2 || slow.CommitLatency.Count != 2 || slow.CommitLatency.MaxUs > 3.01 {
		t.Errorf("%d commits (latency %+v) in the window, want the 2 inside it", slow.Commits, slow.CommitLatency)
	}
	if slow.ShutdownMs != 500 {
		t.Errorf("shutdown %v ms, want 500", slow.ShutdownMs)
	}
	// The same run with a quick shutdown measures the same throughput.
	quickPs := append(progressEvery(0, 10*ms, 1000, 10), sample{at: 101 * ms, v: 10_000})
	qw, err := steadyWindow(quickPs, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&phase{commits: ph.commits[:3]}).measureWindow(&quick, qw, 101*ms); err != nil {
		t.Fatal(err)
	}
	if quick.RecordsPerSec != slow.RecordsPerSec || slow.RecordsPerSec != 8000/0.08 {
		t.Errorf("records/s %v with a 500 ms shutdown, %v without; want both %v", slow.RecordsPerSec, quick.RecordsPerSec, 8000/0.08)
	}
}

func TestWindowTooShort(t *testing.T) {
	if _, err := steadyWindow([]sample{{at: 1, v: 10}}, 0); err == nil {
		t.Error("one sample made a window")
	}
	if _, err := steadyWindow(progressEvery(0, ms, 10, 3), 30); err == nil {
		t.Error("a warm-up covering every record left a window")
	}
}
