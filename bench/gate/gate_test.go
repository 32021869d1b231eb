package gate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	rep := mustCompare(t, rs, rs, Config{})
	if code := rep.ExitCode(); code != ExitPass {
		t.Fatalf("exit code %d, want %d: %s", code, ExitPass, rep.Summary())
	}
	for _, m := range rep.Cells[0].Metrics {
		if m.Verdict != OK {
			t.Errorf("%s: verdict %q, want ok", m.Metric, m.Verdict)
		}
	}
}

func TestThroughputDropFails(t *testing.T) {
	base := cell(key, 5, 100_000, 0.01)
	cur := cell(key, 5, 70_000, 0.01)
	rep := mustCompare(t, base, cur, Config{})
	m := metricOf(t, rep, key, "throughput")
	if m.Verdict != Regressed {
		t.Fatalf("verdict %q (p=%v, change %.1f%%), want %q", m.Verdict, m.P, m.ChangePct, Regressed)
	}
	if m.ChangePct > -29 || m.ChangePct < -31 {
		t.Errorf("change %.1f%%, want about -30%%", m.ChangePct)
	}
	if code := rep.ExitCode(); code != ExitRegression {
		t.Errorf("exit code %d, want %d", code, ExitRegression)
	}
}

func TestChangeWithinNoisePasses(t *testing.T) {
	base := cell(key, 5, 100_000, 0.05)
	cur := cell(key, 5, 97_000, 0.05)
	rep := mustCompare(t, base, cur, Config{})
	if m := metricOf(t, rep, key, "throughput"); m.Verdict != OK {
		t.Errorf("verdict %q (p=%v), want ok", m.Verdict, m.P)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want %d: %s", code, ExitPass, rep.Summary())
	}
}

// A change can be significant and still within its threshold: both
// conditions are needed to fail.
func TestSignificantButSmallChangePasses(t *testing.T) {
	base := cell(key, 5, 100_000, 0.001)
	cur := cell(key, 5, 95_000, 0.001)
	m := metricOf(t, mustCompare(t, base, cur, Config{}), key, "throughput")
	if m.P >= m.Alpha {
		t.Fatalf("p=%v, want a significant change for this test to mean anything", m.P)
	}
	if m.Verdict != OK {
		t.Errorf("verdict %q, want ok for a 5%% drop under a 10%% threshold", m.Verdict)
	}
}

// A median that moved beyond the threshold still passes when the
// repetitions overlap so much that the move may be noise.
func TestLargeButInsignificantChangePasses(t *testing.T) {
	base, cur := cell(key, 5, 100_000, 0), cell(key, 5, 100_000, 0)
	for i, f := range []float64{0.7, 0.9, 1.0, 1.1, 1.3} {
		base[i].Throughput.RecordsPerSec *= f
	}
	for i, f := range []float64{0.65, 0.85, 0.88, 1.05, 1.25} {
		cur[i].Throughput.RecordsPerSec *= f
	}
	m := metricOf(t, mustCompare(t, base, cur, Config{}), key, "throughput")
	if m.ChangePct > -10 {
		t.Fatalf("change %.1f%%, want a drop beyond the threshold for this test to mean anything", m.ChangePct)
	}
	if m.Verdict != OK {
		t.Errorf("verdict %q (p=%v), want ok: the drop is not significant", m.Verdict, m.P)
	}
}

func TestLatencyRiseFails(t *testing.T) {
	base := cell(key, 5, 100_000, 0.01)
	cur := cell(key, 5, 100_000, 0.01)
	for i := range cur {
		cur[i].Throughput.CommitLatency.P99Us *= 1.5
	}
	m := metricOf(t, mustCompare(t, base, cur, Config{}), key, "commit-p99")
	if m.Verdict != Regressed {
		t.Errorf("verdict %q, want %q for a 50%% p99 rise", m.Verdict, Regressed)
	}
}

func TestImprovementPasses(t *testing.T) {
	rep := mustCompare(t, cell(key, 5, 100_000, 0.01), cell(key, 5, 150_000, 0.01), Config{})
	if m := metricOf(t, rep, key, "throughput"); m.Verdict != Improved {
		t.Errorf("verdict %q, want %q", m.Verdict, Improved)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want pass", code)
	}
}

func TestInsufficientSamplesDoesNotFailButSaysSo(t *testing.T) {
	base := cell(key, 2, 100_000, 0.01)
	cur := cell(key, 2, 50_000, 0.01)
	rep := mustCompare(t, base, cur, Config{})
	if m := metricOf(t, rep, key, "throughput"); m.Verdict != Insufficient {
		t.Fatalf("verdict %q, want %q", m.Verdict, Insufficient)
	}
	if code := rep.ExitCode(); code != ExitPass {
		t.Errorf("exit code %d, want pass", code)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WARNING", "NOT GATED", "at least 4 repetitions"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMinRepetitions(t *testing.T) {
	if n := MinRepetitions(0.05); n != 4 {
		t.Errorf("MinRepetitions(0.05) = %d, want 4", n)
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
	rep := mustCompare(t, base, cur, Config{})
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
	rep := mustCompare(t, cell(key, 5, 100_000, 0.01), cell(key, 5, 70_000, 0.01), cfg)
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
	base := writeResults(t, cell(key, 5, 100_000, 0.01))
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
	rep := mustCompare(t, cell(key, 5, 100_000, 0.01), cur, Config{})
	for format, wants := range map[string][]string{
		FormatText:     {"POINT", key, "REGRESSED", "CORRECTNESS BREACHES", "FAIL (exit 1)"},
		FormatMarkdown: {"| point |", "`" + key + "`", "**REGRESSED**", "❌"},
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
	src := writeResults(t, cell(key, 5, 100_000, 0.01))
	dir := filepath.Join(t.TempDir(), "results", "baseline")
	dst, rs, err := Record(src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || dst != filepath.Join(dir, results.FileName) {
		t.Errorf("recorded %d results at %s", len(rs), dst)
	}
	want, _ := os.ReadFile(filepath.Join(src, results.FileName))
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("baseline is not a copy of the source (err %v)", err)
	}
	if _, _, err := Record(filepath.Join(t.TempDir(), "nothing"), dir); err == nil {
		t.Error("recording absent results succeeded")
	}
}
