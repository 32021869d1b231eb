package summary

import (
	"math"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

func result(t *testing.T, key, strat string, rep int, rps float64, commitUs []int, crash *results.Crash) results.Result {
	t.Helper()
	h := metrics.NewHistogram()
	for _, us := range commitUs {
		metrics.Record(h, time.Duration(us)*time.Microsecond)
	}
	enc, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	iv := spec.Interval{Records: 100}
	if strat == strategy.None {
		iv = spec.Interval{}
	}
	return results.Result{Key: key, Workload: "w", Strategy: strat, Guarantee: strategy.GuaranteeAtLeastOnce, Repetition: rep, Interval: iv,
		Broker:     cluster.Description{Kind: "embedded", Version: "test", Brokers: 1},
		Throughput: results.Throughput{RecordsPerSec: rps, Commits: int64(len(commitUs)), Records: 1000, MeasuredRecords: 1000, CommitLatencyHist: enc}, Crash: crash}
}

func TestCellsMergeRepetitions(t *testing.T) {
	rs := []results.Result{
		result(t, "w/none/-", "none", 1, 1000, nil, nil),
		result(t, "w/none/-", "none", 2, 1000, nil, nil),
		result(t, "w/sync/100rec", "sync", 1, 400, []int{100, 200}, &results.Crash{Kills: 2, ReplayPerCrash: []int64{10, 30}, LostPerCrash: []int64{0, 0}, Duplicates: 40, RecoveryMs: []float64{5, 15}}),
		result(t, "w/sync/100rec", "sync", 2, 600, []int{300, 400}, &results.Crash{Kills: 1, ReplayPerCrash: []int64{50}, LostPerCrash: []int64{1}, Lost: 1, Duplicates: 50, RecoveryMs: []float64{10}}),
	}
	cells, err := Cells(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2", len(cells))
	}
	c := cells[1]
	if c.Throughput.Mean != 500 || math.Abs(c.Throughput.SD-141.42) > 0.01 || c.Throughput.N != 2 || c.OfCeiling != 0.5 {
		t.Errorf("throughput %+v (%v of ceiling), want 500 ±141.42 over 2 (0.5)", c.Throughput, c.OfCeiling)
	}
	// Merged, not averaged: the p50 of {100,200,300,400} is 200, while
	// averaging the repetitions' p50s would give (100+300)/2.
	if c.Commit.Count != 4 || c.Commit.MaxUs < 399 || c.Commit.MaxUs > 401 || c.Commit.P50Us < 199 || c.Commit.P50Us > 201 {
		t.Errorf("merged commit latency %+v: want 4 commits, p50 200 µs, max 400 µs", c.Commit)
	}
	cr := c.Crash
	if cr == nil || cr.Kills != 3 || cr.ReplayMean != 30 || cr.ReplayMax != 50 || cr.Lost != 1 || cr.LossMax != 1 || cr.Duplicates != 90 || cr.RecoveryMeanMs != 10 || cr.RecoveryN != 3 {
		t.Errorf("crash figures %+v", cr)
	}
	// One breach: the loss under at-least-once (found by results.Check).
	if c.Breaches != 1 {
		t.Errorf("%d breaches, want 1", c.Breaches)
	}
	if c.RecordsPerCommit != 500 {
		t.Errorf("records per commit %v, want 1000 records / 2 commits", c.RecordsPerCommit)
	}
}

func TestMicrosHidesUnsupportedTails(t *testing.T) {
	l := metrics.Latency{Count: 27, P50Us: 10, P99Us: 90, P999Us: 99, MaxUs: 100}
	for q, want := range map[Quantile]string{P50: "10", P99: "n=27", P999: "n=27", Max: "100"} {
		if got := Micros(l, q); got != want {
			t.Errorf("quantile %d of 27 samples: %q, want %q", q, got, want)
		}
	}
	l.Count = MinSamplesP99
	if got := Micros(l, P99); got != "90" {
		t.Errorf("p99 of %d samples: %q, want 90", l.Count, got)
	}
	if got := Micros(l, P999); got != "n=100" {
		t.Errorf("p99.9 of %d samples: %q, want n=100", l.Count, got)
	}
	if got := Micros(metrics.Latency{}, P50); got != "-" {
		t.Errorf("no samples: %q, want -", got)
	}
}
