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

// A cell's faults are summarised per kind and variant, in the order they
// happen, over every repetition; events are not faults.
func TestScenarioFaultsPerKind(t *testing.T) {
	ms := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	rep := func(r int, stall float64) results.Result {
		res := result(t, "w/sync/100rec/g", "sync", r, 500, []int{100}, nil)
		res.Group = &spec.Group{Name: "g"}
		res.Events = []spec.Event{{Kind: spec.EventKill, At: 0.1}}
		res.Faults = []spec.Fault{{Kind: spec.FaultPartition, At: 0.5}, {Kind: spec.FaultCommitErrors, At: 0.3}, {Kind: spec.FaultPartition, At: 0.7, Mode: spec.PartitionStall}}
		res.Scenario = &results.Scenario{Members: 1, Events: []results.EventOutcome{
			{Kind: spec.EventKill, ReplayedRecords: 100, NoProgressMaxMs: 999},
			{Kind: spec.FaultCommitErrors, Variant: "REBALANCE_IN_PROGRESS", ReplayedRecords: 0, NoProgressMaxMs: 10, InjectedErrors: n(4), RejectedCommits: map[string]int64{"REBALANCE_IN_PROGRESS": 4}},
			{Kind: spec.FaultPartition, Variant: spec.PartitionReset, ReplayedRecords: 2000, NoProgressMaxMs: stall, RecoveryMs: ms(1000), RejectedCommits: map[string]int64{"NETWORK": 3}},
			{Kind: spec.FaultPartition, Variant: spec.PartitionStall, ReplayedRecords: 0, NoProgressMaxMs: 5000, RecoveryMs: ms(3)},
		}}
		return res
	}
	cells, err := Cells([]results.Result{rep(1, 3000), rep(2, 4000)})
	if err != nil {
		t.Fatal(err)
	}
	s := cells[0].Scenario
	if s == nil || len(s.Faults) != 3 {
		t.Fatalf("scenario %+v: want three fault kinds and variants", s)
	}
	if got := s.Events; len(got) != 4 || got[0] != spec.EventKill || got[1] != spec.FaultCommitErrors || got[2] != spec.FaultPartition {
		t.Errorf("schedule %v, want kill, commit-errors, partition, partition", got)
	}
	ce, pt, st := s.Faults[0], s.Faults[1], s.Faults[2]
	if pt.Label() != "partition (reset)" || st.Label() != "partition (stall)" || st.NoProgressMs.Mean != 5000 || st.Replayed.N != 2 {
		t.Errorf("the stall's row %q %+v apart from the reset's %q", st.Label(), st, pt.Label())
	}
	if ce.Kind != spec.FaultCommitErrors || ce.Injected != 8 || ce.Surfaced["REBALANCE_IN_PROGRESS"] != 8 || ce.RecoveryMs.N != 0 {
		t.Errorf("commit errors %+v", ce)
	}
	if pt.Kind != spec.FaultPartition || pt.NoProgressMs.N != 2 || pt.NoProgressMs.Mean != 3500 || pt.NoProgressMs.Max != 4000 || pt.Replayed.Mean != 2000 || pt.Surfaced["NETWORK"] != 6 || pt.RecoveryMs.Mean != 1000 {
		t.Errorf("partition %+v", pt)
	}
}
