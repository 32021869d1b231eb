package results

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
)

// step is a capacity step of series "4 groups × 1 partition" at rate r
// whose intended-time p99 is p99Us over n samples.
func step(r, p99Us float64, n int64) CapacityStep {
	cpu, rec := 0.25, int64(1200)
	return CapacityStep{
		SchemaVersion: CapacitySchemaVersion, RunID: "r", Series: SeriesName(4, 1), Groups: 4, PartitionsPerCommit: 1,
		TargetCommitsPerSec: r, Loop: LoopOpen, StepMs: 1000, WarmupMs: 100, CommitTimeoutMs: 10000,
		Broker:  cluster.Description{Kind: "embedded", Version: "kfake", Brokers: 1, OffsetsReplication: 1},
		Machine: Machine{GoVersion: "go1.26.8", CPUs: 2},
		WindowS: 0.9, Scheduled: n, Sent: n, SentPerSec: r, SenderKeptUp: true, Answered: n, CommitsPerSec: r,
		SendLag:          metrics.Latency{Count: n, P99Us: 50},
		ServiceLatency:   metrics.Latency{Count: n, P50Us: p99Us / 2, P99Us: p99Us},
		IntendedLatency:  metrics.Latency{Count: n, P50Us: p99Us / 2, P99Us: p99Us, P999Us: p99Us},
		BrokerCPUSeconds: &cpu, OffsetsTopicRecords: &rec,
		FailedByError: map[string]int64{},
	}
}

// Steps written one by one read back whole and equal, from the directory
// or the file, and no temporary file is left.
func TestCapacityRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	w, err := NewCapacityWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := step(100, 500, 200), step(200, 900, 400)
	b.Step, b.Failed, b.FailedByError = 2, 3, map[string]int64{"NOT_COORDINATOR": 3}
	want := []CapacityStep{a, b}
	for i, s := range want {
		if err := w.Append(s); err != nil {
			t.Fatal(err)
		}
		// After each append the file holds every step so far: an
		// interrupted sweep keeps them.
		got, err := ReadCapacity(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[:i+1]) {
			t.Errorf("after %d appends read back\n%+v\nwant\n%+v", i+1, got, want[:i+1])
		}
	}
	if got, err := ReadCapacity(w.Path()); err != nil || len(got) != 2 {
		t.Errorf("reading the file itself: %d steps, %v", len(got), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != CapacityFileName {
		t.Errorf("run directory holds %v, want only %s", entries, CapacityFileName)
	}
	if _, err := NewCapacityWriter(dir); err == nil {
		t.Error("a second writer on a directory with capacity steps was allowed")
	}
	// A run directory may hold points and steps side by side; each reader
	// reads its own file.
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "no results at") {
		t.Errorf("Read on a capacity run: %v", err)
	}
}

func TestReadCapacityRejectsOtherSchemas(t *testing.T) {
	for name, tt := range map[string]struct{ content, want string }{
		"newer schema":  {`{"schema_version":2}`, "schema_version 2, this commitbench reads 1"},
		"a point":       {`{"schema_version":1,"key":"w/none/-"}`, `unknown field "key"`},
		"unknown field": {`{"schema_version":1,"surprise":1}`, `unknown field "surprise"`},
		"empty":         {"\n", "holds no capacity steps"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), CapacityFileName)
			if err := os.WriteFile(path, []byte(tt.content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadCapacity(path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKnees(t *testing.T) {
	failed := step(400, 600, 400)
	failed.Failed, failed.FailedByError = 2, map[string]int64{"COORDINATOR_NOT_AVAILABLE": 2}
	short := step(800, 600, 400)
	short.SenderKeptUp, short.SentPerSec = false, 500
	few := step(100, 500, 40)
	stalled := step(200, 5000, 400)
	stalled.SendLag.P99Us = 3000
	other := step(300, 2000, 400)
	other.Series, other.Groups = SeriesName(8, 1), 8
	cases := []struct {
		name  string
		steps []CapacityStep
		want  Knee
		says  string
	}{
		{"p99 doubles", []CapacityStep{step(400, 1000, 400), step(100, 500, 200), step(200, 990, 300)},
			Knee{Found: true, AtCommitsPerSec: 400, UpToCommitsPerSec: 200}, "knee at 400 commits/s: p99 1ms (n=400) is 2.0× the 100 commits/s step's 500µs"},
		{"failures start", []CapacityStep{step(100, 500, 200), failed},
			Knee{Found: true, AtCommitsPerSec: 400, UpToCommitsPerSec: 100}, "2 of 400 commits failed (COORDINATOR_NOT_AVAILABLE 2)"},
		{"no knee", []CapacityStep{step(100, 500, 200), step(200, 900, 300)},
			Knee{UpToCommitsPerSec: 200}, "no knee up to 200 commits/s"},
		{"sender limited", []CapacityStep{step(100, 500, 200), short, step(1600, 50000, 400)},
			Knee{UpToCommitsPerSec: 100, SenderLimitedAtCommitsPerSec: 800, SenderLimitedSentPerSec: 500}, "could not send 800 commits/s (they sent 500/s)"},
		{"machine stall passed over", []CapacityStep{step(100, 500, 200), stalled, step(400, 600, 400), step(800, 1200, 400)},
			Knee{Found: true, AtCommitsPerSec: 800, UpToCommitsPerSec: 400}, "the 200 commits/s step is not taken for the knee: its p99 5ms is the committers' own lateness (send lag p99 3ms)"},
		{"too few samples for p99", []CapacityStep{few, step(200, 5000, 400)},
			Knee{UpToCommitsPerSec: 200}, "n=40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ks := Knees(c.steps)
			if len(ks) != 1 {
				t.Fatalf("%d knees", len(ks))
			}
			k := ks[0]
			got := Knee{Found: k.Found, AtCommitsPerSec: k.AtCommitsPerSec, UpToCommitsPerSec: k.UpToCommitsPerSec,
				SenderLimitedAtCommitsPerSec: k.SenderLimitedAtCommitsPerSec, SenderLimitedSentPerSec: k.SenderLimitedSentPerSec}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("knee %+v, want %+v", got, c.want)
			}
			if !strings.Contains(k.String(), c.says) {
				t.Errorf("%q does not say %q", k.String(), c.says)
			}
		})
	}
	// Series are judged apart, in the order they first appear.
	ks := Knees([]CapacityStep{step(100, 500, 200), other, step(200, 600, 200)})
	if len(ks) != 2 || ks[0].Series != SeriesName(4, 1) || ks[1].Series != SeriesName(8, 1) || ks[0].UpToCommitsPerSec != 200 || ks[1].BaselineCommitsPerSec != 300 {
		t.Errorf("knees of two series: %+v", ks)
	}
}

// A first step slowed by a warming broker is no baseline: the knee is
// judged against the lowest p99 below it. And a coordinator that answers
// well under what was sent is saturated there, whatever the latencies.
func TestKneeBaselineAndSaturation(t *testing.T) {
	warm := []CapacityStep{step(100, 30_000, 1000), step(200, 5_000, 1000), step(400, 6_000, 1000), step(800, 12_000, 1000)}
	k := Knees(warm)[0]
	if !k.Found || k.AtCommitsPerSec != 800 || k.BaselineCommitsPerSec != 200 {
		t.Errorf("knee %+v: want it at 800/s against the 200/s step's 5ms, not the warm-up's 30ms", k)
	}
	saturated := []CapacityStep{step(100, 3_000, 1000), step(200, 3_100, 1000)}
	saturated[1].CommitsPerSec = 120
	if k := Knees(saturated)[0]; !k.Found || k.AtCommitsPerSec != 200 || !strings.Contains(k.Reason, "answered 120") {
		t.Errorf("knee %+v: want it at 200/s, where 120 of 200 commits/s were answered", k)
	}
}
