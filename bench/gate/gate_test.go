package gate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

const key = "quick/at-least-once-sync/100rec"

// point builds one repetition of the test cell with the given figures.
func point(k string, rep int, recordsPerSec, p99Us, recoveryMs float64) results.Result {
	parts := strings.Split(k, "/")
	return results.Result{
		SchemaVersion: results.SchemaVersion, RunID: "test", Key: k,
		Workload: parts[0], Strategy: parts[1], Guarantee: "at-least-once", Repetition: rep,
		Interval:   spec.Interval{Records: 100},
		Topic:      spec.Topic{Partitions: 8, Records: 10000, RecordBytes: 100, Keys: "none"},
		Processing: spec.Processing{CPUMicros: 1},
		Crashes:    spec.Crashes{PerPoint: 3, Seed: 1},
		Broker:     cluster.Description{Kind: "embedded", Version: "kfake test", Brokers: 1, OffsetsReplication: 1},
		Machine:    results.Machine{GoVersion: "go1.26.8", CPUs: 2, OS: "linux", Arch: "amd64"},
		Throughput: results.Throughput{
			RecordsPerSec: recordsPerSec, Commits: 100,
			CommitLatency: metrics.Latency{Count: 100, P99Us: p99Us},
		},
		Crash: &results.Crash{
			Planned: 3, Kills: 3, ReplayPerCrash: []int64{50, 60, 70}, ReplayBound: ptr(int64(100)),
			LostPerCrash: []int64{0, 0, 0}, LossBound: ptr(int64(0)),
			RecoveryMs: []float64{recoveryMs}, RecoveryMeanMs: recoveryMs,
		},
	}
}

func ptr[T any](v T) *T { return &v }

// cell builds n repetitions whose throughput spreads evenly over
// center ± spread (a fraction); the other metrics carry the same spread
// around fixed centers, identical for every call.
func cell(k string, n int, center, spread float64) []results.Result {
	var rs []results.Result
	for i := range n {
		f := 0.0
		if n > 1 {
			f = -1 + 2*float64(i)/float64(n-1)
		}
		rs = append(rs, point(k, i+1, center*(1+spread*f), 50*(1+0.01*f), 200*(1+0.01*f)))
	}
	return rs
}

// inRun moves results into run id, as another run of the same workload.
func inRun(id string, rs []results.Result) []results.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].RunID = id
	}
	return out
}

// twoRuns is a baseline recorded from two runs of the same cell, their
// throughput centred on c1 and c2.
func twoRuns(k string, n int, c1, c2, spread float64) []results.Result {
	return append(inRun("base1", cell(k, n, c1, spread)), inRun("base2", cell(k, n, c2, spread))...)
}

func mustCompare(t *testing.T, base, cur []results.Result, cfg Config) *Report {
	t.Helper()
	rep, err := Compare(base, cur, cfg)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	return rep
}

func metricOf(t *testing.T, rep *Report, k, name string) MetricResult {
	t.Helper()
	for _, p := range rep.Cells {
		for _, m := range p.Metrics {
			if p.Key == k && m.Metric == name {
				return m
			}
		}
	}
	t.Fatalf("no %s for %s in report", name, k)
	return MetricResult{}
}

func TestIdenticalPasses(t *testing.T) {
	rs := cell(key, 5, 100_000, 0.01)
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), rs, Config{})
	if code := rep.ExitCode(); code != ExitPass {
		t.Fatalf("exit code %d, want %d: %s", code, ExitPass, rep.Summary())
	}
	for _, m := range rep.Cells[0].Metrics {
		want := OK
		switch m.Metric {
		case metricCommitP99:
			want = NotGated // absolute latency, against a stored baseline
		case metricCeilingShare:
			want = NotMeasured // no `none` cell in the run
		}
		if m.Verdict != want {
			t.Errorf("%s: verdict %q, want %q", m.Metric, m.Verdict, want)
		}
	}
}

func TestThroughputDropFails(t *testing.T) {
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cell(key, 5, 70_000, 0.01), Config{})
	m := metricOf(t, rep, key, metricThroughput)
	if m.Verdict != Regressed {
		t.Fatalf("verdict %q (change %.1f%%, CI [%.1f, %.1f]), want %q", m.Verdict, m.ChangePct, m.LoPct, m.HiPct, Regressed)
	}
	if m.ChangePct > -29 || m.ChangePct < -31 {
		t.Errorf("change %.1f%%, want about -30%%", m.ChangePct)
	}
	if code := rep.ExitCode(); code != ExitRegression {
		t.Errorf("exit code %d, want %d", code, ExitRegression)
	}
}

func TestChangeWithinNoisePasses(t *testing.T) {
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.05), cell(key, 5, 97_000, 0.05), Config{})
	if m := metricOf(t, rep, key, metricThroughput); m.Verdict != OK {
		t.Errorf("verdict %q (CI [%.1f, %.1f]), want ok", m.Verdict, m.LoPct, m.HiPct)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want %d: %s", code, ExitPass, rep.Summary())
	}
}

// A change can be certain and still within its limit.
func TestCertainButSmallChangePasses(t *testing.T) {
	m := metricOf(t, mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.001), cell(key, 5, 95_000, 0.001), Config{}), key, metricThroughput)
	if m.HiPct >= 0 {
		t.Fatalf("CI [%.1f, %.1f], want one wholly below 0 for this test to mean anything", m.LoPct, m.HiPct)
	}
	if m.Verdict != OK {
		t.Errorf("verdict %q, want ok for a 5%% drop under a 10%% limit", m.Verdict)
	}
}

// A mean that moved beyond the limit is inconclusive, not a regression,
// when the repetitions spread so far that the interval reaches back
// within the limit; exit 0, or 1 under Strict.
func TestLargeButUncertainChangeIsInconclusive(t *testing.T) {
	base, cur := twoRuns(key, 5, 100_000, 100_000, 0), cell(key, 5, 100_000, 0)
	for i, f := range []float64{0.7, 0.9, 1.0, 1.1, 1.3, 0.7, 0.9, 1.0, 1.1, 1.3} {
		base[i].Throughput.RecordsPerSec *= f
	}
	for i, f := range []float64{0.65, 0.85, 0.88, 1.05, 1.25} {
		cur[i].Throughput.RecordsPerSec *= f
	}
	rep := mustCompare(t, base, cur, Config{})
	m := metricOf(t, rep, key, metricThroughput)
	if m.Verdict != Inconclusive {
		t.Errorf("verdict %q (change %.1f%%, CI [%.1f, %.1f]), want inconclusive", m.Verdict, m.ChangePct, m.LoPct, m.HiPct)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want pass", code)
	}
	rep.Strict = true
	if code := rep.ExitCode(); code != ExitRegression {
		t.Errorf("strict: exit code %d, want %d", code, ExitRegression)
	}
}

// Drift between the baseline's runs of unchanged code widens what is
// allowed: a drop beyond the limit but within the recorded drift passes;
// the same drop against a baseline without that drift fails.
func TestDriftWithinRecordedSpreadPasses(t *testing.T) {
	cfg, err := ParseConfig([]byte("defaults:\n  throughput_drop_pct: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	cur := cell(key, 5, 88_000, 0.005)
	drifting := twoRuns(key, 5, 100_000, 90_000, 0.005) // 11% apart
	m := metricOf(t, mustCompare(t, drifting, cur, cfg), key, metricThroughput)
	if m.ChangePct > -5 || math.Abs(m.DriftPct-11.1) > 0.2 {
		t.Fatalf("change %.1f%%, drift %.1f%%: want a drop beyond 5%% within an 11.1%% drift for this test to mean anything", m.ChangePct, m.DriftPct)
	}
	if m.Verdict != OK {
		t.Errorf("verdict %q (%s), want ok: the drop is within the recorded drift", m.Verdict, m.Why)
	}
	steady := twoRuns(key, 5, 94_868, 94_868, 0.005) // the same centre, no drift
	if m := metricOf(t, mustCompare(t, steady, cur, cfg), key, metricThroughput); m.Verdict != Regressed {
		t.Errorf("without drift: verdict %q (change %.1f%%), want %q", m.Verdict, m.ChangePct, Regressed)
	}
}

// The share of the ceiling cancels the machine's speed: a run on a machine
// 20% slower across the board passes; a strategy that lost a quarter of
// its share fails, whatever the machine.
func TestCeilingShareCancelsMachineSpeed(t *testing.T) {
	const none = "quick/none/-"
	withCeiling := func(id string, ceiling, sync float64) []results.Result {
		rs := append(cell(none, 5, ceiling, 0.01), cell(key, 5, sync, 0.01)...)
		for i := range rs[:5] {
			rs[i].Strategy, rs[i].Interval = strategy.None, spec.Interval{}
		}
		return inRun(id, rs)
	}
	base := append(withCeiling("base1", 1_000_000, 500_000), withCeiling("base2", 1_000_000, 500_000)...)
	slower := mustCompare(t, base, withCeiling("cur", 800_000, 400_000), Config{})
	if m := metricOf(t, slower, key, metricCeilingShare); m.Verdict != OK || math.Abs(m.Current-50) > 0.5 {
		t.Errorf("share on a slower machine: verdict %q, share %.1f%%, want ok at 50%%", m.Verdict, m.Current)
	}
	if m := metricOf(t, slower, key, metricThroughput); m.Verdict != NotGated {
		t.Errorf("absolute throughput: verdict %q, want %q", m.Verdict, NotGated)
	}
	if code := slower.ExitCode(); code != ExitPass {
		t.Errorf("a uniformly slower machine: exit code %d, want pass: %s", code, slower.Summary())
	}
	worse := mustCompare(t, base, withCeiling("cur", 800_000, 300_000), Config{})
	if m := metricOf(t, worse, key, metricCeilingShare); m.Verdict != Regressed {
		t.Errorf("a share down by a quarter: verdict %q, want %q", m.Verdict, Regressed)
	}
	if m := metricOf(t, worse, none, metricCeilingShare); m.Verdict != NotMeasured {
		t.Errorf("the ceiling's own share: verdict %q, want %q", m.Verdict, NotMeasured)
	}
}

func TestLatencyRiseFailsOnlyWhenAbsoluteIsGated(t *testing.T) {
	base := twoRuns(key, 5, 100_000, 100_000, 0.01)
	cur := cell(key, 5, 100_000, 0.01)
	for i := range cur {
		cur[i].Throughput.CommitLatency.P99Us *= 1.5
	}
	if m := metricOf(t, mustCompare(t, base, cur, Config{}), key, metricCommitP99); m.Verdict != NotGated {
		t.Errorf("verdict %q, want %q by default", m.Verdict, NotGated)
	}
	if m := metricOf(t, mustCompare(t, base, cur, Config{Absolute: true}), key, metricCommitP99); m.Verdict != Regressed {
		t.Errorf("absolute: verdict %q, want %q for a 50%% p99 rise", m.Verdict, Regressed)
	}
}

func TestImprovementPasses(t *testing.T) {
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cell(key, 5, 150_000, 0.01), Config{})
	if m := metricOf(t, rep, key, metricThroughput); m.Verdict != Improved {
		t.Errorf("verdict %q, want %q", m.Verdict, Improved)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want pass", code)
	}
}

func TestTooFewSamplesIsInconclusiveAndSaysSo(t *testing.T) {
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cell(key, 2, 50_000, 0.01), Config{})
	if m := metricOf(t, rep, key, metricThroughput); m.Verdict != Inconclusive {
		t.Fatalf("verdict %q, want %q", m.Verdict, Inconclusive)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want pass", code)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WARNING", "inconclusive", "fewer than 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

// A baseline of one run has no drift to allow for, and the report says so.
func TestOneRunBaselineIsNoted(t *testing.T) {
	rep := mustCompare(t, cell(key, 5, 100_000, 0.01), cell(key, 5, 100_000, 0.01), Config{})
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "drift between runs is unknown") }) {
		t.Errorf("notes %q do not say the drift is unknown", rep.Notes)
	}
}

func TestDuplicateUnderExactlyOnceFails(t *testing.T) {
	const eo = "quick/exactly-once-db/100rec"
	base := cell(eo, 1, 100_000, 0)
	cur := cell(eo, 1, 100_000, 0)
	for _, rs := range [][]results.Result{base, cur} {
		rs[0].Guarantee = "exactly-once"
	}
	cur[0].Crash.Duplicates = 1
	rep := mustCompare(t, append(base, inRun("other", base)...), cur, Config{})
	if len(rep.Breaches) != 1 || rep.Breaches[0].Rule != "duplicates" {
		t.Fatalf("breaches %+v, want one duplicates breach", rep.Breaches)
	}
	if code := rep.ExitCode(); code != ExitRegression {
		t.Errorf("exit code %d, want %d even with one repetition", code, ExitRegression)
	}
}

func TestCheckCorrectness(t *testing.T) {
	tests := []struct {
		name      string
		guarantee string
		mutate    func(*results.Result)
		want      []string // rules
	}{
		{"clean", "at-least-once", func(*results.Result) {}, nil},
		{"loss under at-least-once", "at-least-once", func(r *results.Result) { r.Crash.Lost = 3 }, []string{"loss"}},
		{"crash-free loss", "exactly-once", func(r *results.Result) { r.Throughput.Lost = 1 }, []string{"loss"}},
		{"duplicates allowed under at-least-once", "at-least-once", func(r *results.Result) { r.Crash.Duplicates = 9 }, nil},
		{"crash-free duplicate under exactly-once", "exactly-once", func(r *results.Result) { r.Throughput.Duplicates = 1 }, []string{"duplicates"}},
		{"replay above bound", "at-least-once", func(r *results.Result) { r.Crash.ReplayPerCrash[1] = 101 }, []string{"replay-bound"}},
		{"loss allowed under at-most-once", "at-most-once", func(r *results.Result) {
			r.Crash.Lost, r.Crash.LostPerCrash, r.Crash.LossBound = 100, []int64{100}, ptr(int64(100))
		}, nil},
		{"loss above bound under at-most-once", "at-most-once", func(r *results.Result) {
			r.Crash.Lost, r.Crash.LostPerCrash, r.Crash.LossBound = 101, []int64{101}, ptr(int64(100))
		}, []string{"loss-bound"}},
		// The recorded strings are for people: the gate re-runs the one
		// check on the numbers, so a real loss that the runner also wrote
		// down is one breach, and a string alone is none.
		{"recorded loss reported once", "at-least-once", func(r *results.Result) {
			r.Crash.Lost = 3
			r.Violations = []string{"at-least-once-sync claims at-least-once but lost 3 records across 3 crashes"}
		}, []string{"loss"}},
		{"recorded string alone", "none", func(r *results.Result) { r.Violations = []string{"odd"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := point(key, 1, 1, 1, 1)
			r.Guarantee = strategy.Guarantee(tt.guarantee)
			tt.mutate(&r)
			var got []string
			for _, b := range CheckCorrectness([]results.Result{r}) {
				got = append(got, b.Rule)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("rules %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMismatchedSettingsRefuse(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*results.Result)
	}{
		{"broker.version", func(r *results.Result) { r.Broker.Version = "kafka 4.0" }},
		{"broker.kind", func(r *results.Result) { r.Broker.Kind = "container" }},
		{"broker.emulated_commit_delay_ns", func(r *results.Result) { r.Broker.EmulatedCommitDelayNs = 2e6 }},
		{"topic.partitions", func(r *results.Result) { r.Topic.Partitions = 16 }},
		{"processing.cpu_us", func(r *results.Result) { r.Processing.CPUMicros = 5 }},
		{"sink", func(r *results.Result) { r.Sink = "postgres" }},
		{"warmup_records", func(r *results.Result) { r.WarmupRecords = 7 }},
		{"interval.every_ns", func(r *results.Result) { r.Interval.Every = spec.Duration(time.Second) }},
		{"client.max_poll_records", func(r *results.Result) { r.Client.MaxPollRecords = 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			base, cur := cell(key, 5, 100_000, 0.01), cell(key, 5, 100_000, 0.01)
			for i := range cur {
				tt.mutate(&cur[i])
			}
			_, err := Compare(base, cur, Config{})
			var mm *MismatchError
			if !errors.As(err, &mm) {
				t.Fatalf("error %v, want a *MismatchError", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message does not name %s:\n%v", tt.field, err)
			}
		})
	}
}

func TestRepetitionsDisagreeingRefuse(t *testing.T) {
	cur := cell(key, 5, 100_000, 0.01)
	cur[3].Topic.Records = 5
	_, err := Compare(cell(key, 5, 100_000, 0.01), cur, Config{})
	if err == nil || !strings.Contains(err.Error(), "topic.records") || !strings.Contains(err.Error(), "current") {
		t.Fatalf("error %v, want one naming current and topic.records", err)
	}
}

func TestMissingPoints(t *testing.T) {
	const other = "quick/at-least-once-async/100rec"
	base := append(cell(key, 5, 100_000, 0.01), cell(other, 5, 100_000, 0.01)...)
	cur := cell(key, 5, 100_000, 0.01)
	rep := mustCompare(t, base, cur, Config{})
	if len(rep.MissingInCurrent) != 1 || rep.MissingInCurrent[0] != other {
		t.Fatalf("missing in current %v, want [%s]", rep.MissingInCurrent, other)
	}
	if code := rep.ExitCode(); code != ExitInput {
		t.Errorf("exit code %d, want %d", code, ExitInput)
	}
	rep.AllowMissing = true
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("with AllowMissing: exit code %d, want pass", code)
	}
}

func TestPerWorkloadOverride(t *testing.T) {
	cfg, err := ParseConfig([]byte("defaults:\n  alpha: 0.05\nworkloads:\n  quick:\n    throughput_drop_pct: 40\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cell(key, 5, 70_000, 0.01), cfg)
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d with a 40%% allowance for a 30%% drop, want pass", code)
	}
	if l := cfg.For("other"); l.ThroughputDropPct != 10 || l.Alpha != 0.05 {
		t.Errorf("limits of an unlisted workload %+v, want the defaults", l)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"defaults:\n  throughput_drop: 10\n", "throughput_drop"},
		{"defaults:\n  alpha: 1.5\n", "defaults.alpha"},
		{"workloads:\n  quick:\n    recovery_time_rise_pct: -1\n", "workloads.quick.recovery_time_rise_pct"},
		{"[1, 2]", "not a gate config"},
	} {
		if _, err := ParseConfig([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseConfig(%q) error %v, want one mentioning %q", tt.yaml, err, tt.want)
		}
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "..", "docs", "gates.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Workloads) == 0 {
		t.Error("the example shows no per-workload override")
	}
}

func writeResults(t *testing.T, rs []results.Result) string {
	t.Helper()
	w, err := results.NewWriter(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return w.Dir()
}

func TestRunReadsFiles(t *testing.T) {
	base := writeResults(t, twoRuns(key, 5, 100_000, 100_000, 0.01))
	cur := writeResults(t, cell(key, 5, 70_000, 0.01))
	rep, err := Run(Options{Baseline: base, Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	if code := rep.ExitCode(); code != ExitRegression {
		t.Errorf("exit code %d, want %d", code, ExitRegression)
	}
}

func TestRunMalformedInput(t *testing.T) {
	good := writeResults(t, cell(key, 5, 100_000, 0.01))
	bad := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(bad, fmt.Appendf(nil, "{\"schema_version\": %d}\nnot json\n", results.SchemaVersion), 0o644); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(t.TempDir(), "gates.yaml")
	if err := os.WriteFile(badConfig, []byte("default:\n  alpha: 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"malformed current", Options{Baseline: good, Current: bad}, "current: " + bad + ":2"},
		{"absent baseline", Options{Baseline: filepath.Join(t.TempDir(), "none"), Current: good}, "baseline: no results"},
		{"unknown config field", Options{Baseline: good, Current: good, ConfigPath: badConfig}, "field default not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	cur := cell(key, 5, 70_000, 0.01)
	cur[0].Crash.ReplayPerCrash[0] = 200
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cur, Config{})
	for format, wants := range map[string][]string{
		FormatText:     {"POINT", key, "REGRESSED", "CORRECTNESS BREACHES", "FAIL (exit 1)", "2 runs", "DRIFT"},
		FormatMarkdown: {"| point |", "`" + key + "`", "**REGRESSED", "❌", "| drift |"},
	} {
		var out bytes.Buffer
		if err := rep.Write(&out, format); err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s output lacks %q:\n%s", format, want, out.String())
			}
		}
	}
	if err := rep.Write(&bytes.Buffer{}, "html"); err == nil {
		t.Error("an unknown format was accepted")
	}
}

// The benchstat output must parse with benchstat's own reader, one result
// per repetition per side.
func TestBenchstatOutputParses(t *testing.T) {
	rep := mustCompare(t, cell(key, 5, 100_000, 0.01), cell(key, 5, 70_000, 0.01), Config{})
	var out bytes.Buffer
	if err := rep.Write(&out, FormatBenchstat); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&out, "gate.txt")
	sides := map[string]int{}
	for r.Scan() {
		switch rec := r.Result(); rec := rec.(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("benchstat cannot read it: %v", rec)
		case *benchfmt.Result:
			sides[string(rec.GetConfig("side"))]++
			if v, ok := rec.Value("records/s"); !ok || v <= 0 {
				t.Errorf("%s: records/s missing", rec.Name)
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if sides["baseline"] != 5 || sides["current"] != 5 {
		t.Errorf("results per side %v, want 5 each", sides)
	}

	dir := t.TempDir()
	if err := rep.WriteBenchstatFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"baseline.txt", "current.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestRecord(t *testing.T) {
	run1 := writeResults(t, inRun("r1", cell(key, 5, 100_000, 0.01)))
	run2 := writeResults(t, inRun("r2", cell(key, 5, 95_000, 0.01)))
	dir := filepath.Join(t.TempDir(), "results", "baseline")
	dst, rs, err := Record([]string{run1, run2}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 10 || dst != filepath.Join(dir, results.FileName) {
		t.Errorf("recorded %d results at %s", len(rs), dst)
	}
	back, err := results.Read(dst)
	if err != nil || len(back) != 10 || len(RunIDs(back)) != 2 {
		t.Fatalf("the baseline reads back as %d results of %d runs (err %v), want 10 of 2", len(back), len(RunIDs(back)), err)
	}
	d := Drifts(back)
	if len(d) != 1 || math.Abs(d[0].ByPct[metricThroughput]-100*(100.0/95-1)) > 0.1 {
		t.Errorf("drifts %+v, want throughput %.1f%%", d, 100*(100.0/95-1))
	}
	other := writeResults(t, inRun("r3", cell(key, 5, 100_000, 0.01)))
	mismatched := inRun("r4", cell(key, 5, 100_000, 0.01))
	for i := range mismatched {
		mismatched[i].Sink = "postgres"
	}
	for _, tt := range []struct {
		name string
		srcs []string
		want string
	}{
		{"one run", []string{run1}, "2 or more runs"},
		{"the same run twice", []string{run1, run1}, "both hold run r1"},
		{"absent", []string{run1, filepath.Join(t.TempDir(), "nothing")}, "no results"},
		{"runs measured differently", []string{other, writeResults(t, mismatched)}, "sink differs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Record(tt.srcs, filepath.Join(t.TempDir(), "b")); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The stored gate's JUnit file parses and carries the failing metric and
// the breach.
func TestStoredJUnit(t *testing.T) {
	cur := cell(key, 5, 70_000, 0.01)
	cur[0].Crash.ReplayPerCrash[0] = 200
	rep := mustCompare(t, twoRuns(key, 5, 100_000, 100_000, 0.01), cur, Config{})
	var out bytes.Buffer
	if err := rep.WriteJUnit(&out); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, out.String())
	}
	var failed []string
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) != 2 || failed[0] != key+" "+metricThroughput || !strings.Contains(failed[1], "replay-bound") {
		t.Errorf("failing cases %q, want the throughput metric and the replay-bound breach", failed)
	}
	if doc.Suites[0].Failures != 2 || doc.Suites[0].Tests != len(doc.Suites[0].Cases) {
		t.Errorf("suite counts %+v", doc.Suites[0])
	}
}
