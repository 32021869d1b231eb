package summary

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
)

func result(t *testing.T, key, strategy string, rep int, rps float64, commitUs []int, crash *results.Crash) results.Result {
	t.Helper()
	h := metrics.NewHistogram()
	for _, us := range commitUs {
		metrics.Record(h, time.Duration(us)*time.Microsecond)
	}
	enc, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	return results.Result{Key: key, Workload: "w", Strategy: strategy, Repetition: rep, IntervalKind: "count", CommitEveryRecords: 100,
		Throughput: results.Throughput{RecordsPerSec: rps, Commits: int64(len(commitUs)), CommitLatencyHist: enc}, Crash: crash}
}

func TestRows(t *testing.T) {
	rs := []results.Result{
		result(t, "w/none/-", "none", 1, 1000, nil, nil),
		result(t, "w/none/-", "none", 2, 1000, nil, nil),
		result(t, "w/sync/100rec", "sync", 1, 400, []int{100, 200}, &results.Crash{Kills: 2, ReplayPerCrash: []int64{10, 30}, ReplayMax: 30, Lost: 0, Duplicates: 40, RecoveryMs: []float64{5, 15}}),
		result(t, "w/sync/100rec", "sync", 2, 600, []int{300, 400}, &results.Crash{Kills: 1, ReplayPerCrash: []int64{50}, ReplayMax: 50, Lost: 1, Duplicates: 50, RecoveryMs: []float64{10}}),
	}
	rs[3].Violations = []string{"x"}
	rows, err := Rows(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	s := rows[1]
	if s.RecordsPerSec != 500 || math.Abs(s.RecordsPerSecSD-141.42) > 0.01 || s.OfCeiling != 0.5 {
		t.Errorf("throughput %v ±%v (%v of ceiling), want 500 ±141.42 (0.5)", s.RecordsPerSec, s.RecordsPerSecSD, s.OfCeiling)
	}
	if s.Commit.Count != 4 || s.Commit.MaxUs < 399 || s.Commit.MaxUs > 401 {
		t.Errorf("merged commit latency %+v: want 4 commits, max 400 µs", s.Commit)
	}
	if s.Kills != 3 || s.ReplayMean != 30 || s.ReplayMax != 50 || s.Lost != 1 || s.Duplicates != 90 || s.RecoveryMeanMs != 10 || s.Violations != 1 {
		t.Errorf("crash figures %+v", s)
	}
	var b bytes.Buffer
	if err := Print(&b, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload w on", "50.0%", "100 rec"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
