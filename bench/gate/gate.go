// Package gate is the CI regression gate: it compares a run's results with
// a recorded baseline point by point, with repetitions on both sides and a
// Mann-Whitney U test (golang.org/x/perf/benchmath, as benchstat uses) so
// that noise does not fail a build, and it fails the build on any
// correctness breach in the current run without statistics.
package gate

import (
	"fmt"
	"math"

	"golang.org/x/perf/benchmath"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/summary"
)

// Exit codes of the gate command.
const (
	// ExitPass: no regression, no breach.
	ExitPass = 0
	// ExitRegression: a metric regressed significantly beyond its
	// threshold, or the current run broke a strategy's guarantee.
	ExitRegression = 1
	// ExitInput: bad usage, unreadable or malformed files, mismatched
	// settings, or points missing on one side (unless allowed).
	ExitInput = 2
)

// Verdict is the outcome for one metric of one point.
type Verdict string

// The verdicts.
const (
	// OK: no significant change, or a significant one within the threshold.
	OK Verdict = "ok"
	// Improved: significantly better.
	Improved Verdict = "improved"
	// Regressed: significantly worse, beyond the threshold.
	Regressed Verdict = "REGRESSED"
	// Insufficient: too few repetitions for the test to ever reach
	// significance, so the metric was not gated at all.
	Insufficient Verdict = "insufficient samples"
	// NotMeasured: one side has no value (no commits, no crash phase).
	NotMeasured Verdict = "n/a"
)

// Report is the outcome of a comparison.
type Report struct {
	// Baseline and Current name the inputs (paths, set by Run).
	Baseline, Current string
	// ConfigSource says where the thresholds came from; Defaults are the
	// limits of workloads without an override, Overrides the workloads
	// with one.
	ConfigSource string
	Defaults     Limits
	Overrides    []string
	// Cells holds the compared cells, in the current run's order.
	Cells []CellVerdict
	// Breaches are correctness failures in the current results.
	Breaches []Breach
	// MissingInCurrent lists keys only the baseline has;
	// MissingInBaseline keys only the current run has.
	MissingInCurrent, MissingInBaseline []string
	// Notes are differences worth knowing that do not block the
	// comparison (machine, Go or franz-go version).
	Notes []string
	// AllowMissing lets missing points pass; they are still listed.
	AllowMissing bool

	// The raw results, for the benchstat format.
	baseline, current []results.Result
}

// CellVerdict is one cell compared, metric by metric.
type CellVerdict struct {
	Key      string
	Workload string
	Limits   Limits
	Metrics  []MetricResult
}

// MetricResult is one metric of one point.
type MetricResult struct {
	// Metric is throughput, commit-p99 or recovery.
	Metric string
	// Unit is the values' unit.
	Unit string
	// Baseline and Current are medians over the repetitions.
	Baseline, Current float64
	// N1 and N2 are the repetition counts.
	N1, N2 int
	// ChangePct is the change of the median in percent (+ is up).
	ChangePct float64
	// P is the U test's p-value; Alpha the level it is held to.
	P, Alpha float64
	// LimitPct is the tolerated change in the bad direction.
	LimitPct float64
	// HigherIsBetter says which direction is bad.
	HigherIsBetter bool
	Verdict        Verdict
	// Warnings come from benchmath (e.g. how many samples it needs).
	Warnings []string
}

// Options select what Run reads and how strictly it judges.
type Options struct {
	// Baseline and Current are results files or run directories.
	Baseline, Current string
	// ConfigPath is gates.yaml; empty for the defaults.
	ConfigPath string
	// AllowMissing lets points present on only one side pass (they are
	// still listed).
	AllowMissing bool
}

// Run reads the config and both result sets and compares them. Every error
// it returns is an input problem (exit ExitInput); the verdict is in the
// report.
func Run(o Options) (*Report, error) {
	cfg, err := LoadConfig(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	base, err := results.Read(o.Baseline)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	cur, err := results.Read(o.Current)
	if err != nil {
		return nil, fmt.Errorf("current: %w", err)
	}
	rep, err := Compare(base, cur, cfg)
	if err != nil {
		return nil, err
	}
	rep.Baseline, rep.Current, rep.AllowMissing = o.Baseline, o.Current, o.AllowMissing
	return rep, nil
}

// Compare judges current against baseline under cfg. It returns a
// *MismatchError when settings differ, so figures from different set-ups
// are never compared silently.
func Compare(baseline, current []results.Result, cfg Config) (*Report, error) {
	if len(baseline) == 0 || len(current) == 0 {
		return nil, fmt.Errorf("nothing to compare: baseline has %d results, current %d", len(baseline), len(current))
	}
	baseCells, curCells := results.ByCell(baseline), results.ByCell(current)
	if err := checkRepetitions("baseline", baseCells); err != nil {
		return nil, err
	}
	if err := checkRepetitions("current", curCells); err != nil {
		return nil, err
	}

	rep := &Report{
		ConfigSource: cfg.Source,
		Defaults:     cfg.For(""),
		Overrides:    cfg.workloadNames(),
		Breaches:     CheckCorrectness(current),
		baseline:     baseline,
		current:      current,
	}
	baseByKey := map[string]results.CellReps{}
	for _, c := range baseCells {
		baseByKey[c.Key] = c
	}
	var diffs diffSet
	seen := map[string]bool{}
	for _, c := range curCells {
		b, ok := baseByKey[c.Key]
		if !ok {
			rep.MissingInBaseline = append(rep.MissingInBaseline, c.Key)
			continue
		}
		seen[c.Key] = true
		diffs.add(c.Key, b.First(), c.First())
		rep.Cells = append(rep.Cells, compareCell(b, c, cfg.For(c.Workload)))
	}
	if err := diffs.err(""); err != nil {
		return nil, err
	}
	for _, c := range baseCells {
		if !seen[c.Key] {
			rep.MissingInCurrent = append(rep.MissingInCurrent, c.Key)
		}
	}
	rep.Notes = append(envNotes(baseline[0], current[0]), unusedOverrides(cfg, baseline, current)...)
	return rep, nil
}

// ExitCode is the gate's exit code for this report. Missing points make it
// ExitInput unless allowed, because the gate could not check everything it
// was given.
func (r *Report) ExitCode() int {
	switch {
	case !r.AllowMissing && (len(r.MissingInCurrent) > 0 || len(r.MissingInBaseline) > 0):
		return ExitInput
	case len(r.Breaches) > 0 || r.Count(Regressed) > 0:
		return ExitRegression
	}
	return ExitPass
}

// Count is how many metrics got verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for _, p := range r.Cells {
		for _, m := range p.Metrics {
			if m.Verdict == v {
				n++
			}
		}
	}
	return n
}

// metric is one gated figure: how to read it from a result and which
// threshold guards it.
type metric struct {
	name, unit     string
	higherIsBetter bool
	value          func(results.Result) (float64, bool)
	limit          func(Limits) float64
}

func gatedMetrics() []metric {
	return []metric{
		{
			name: "throughput", unit: "records/s", higherIsBetter: true,
			value: func(r results.Result) (float64, bool) { return r.Throughput.RecordsPerSec, true },
			limit: func(l Limits) float64 { return l.ThroughputDropPct },
		},
		{
			name: "commit-p99", unit: "µs",
			// A p99 of fewer samples is a maximum: not gated (n/a), as
			// every printer refuses to show it.
			value: func(r results.Result) (float64, bool) {
				return summary.P99.Value(r.Throughput.CommitLatency)
			},
			limit: func(l Limits) float64 { return l.CommitP99RisePct },
		},
		{
			name: "recovery", unit: "ms",
			value: func(r results.Result) (float64, bool) {
				if r.Crash == nil || len(r.Crash.RecoveryMs) == 0 {
					return 0, false
				}
				return r.Crash.RecoveryMeanMs, true
			},
			limit: func(l Limits) float64 { return l.RecoveryRisePct },
		},
	}
}

func compareCell(base, cur results.CellReps, l Limits) CellVerdict {
	p := CellVerdict{Key: cur.Key, Workload: cur.Workload, Limits: l}
	for _, m := range gatedMetrics() {
		p.Metrics = append(p.Metrics, compareMetric(m, values(base, m), values(cur, m), l))
	}
	return p
}

func values(c results.CellReps, m metric) []float64 {
	var out []float64
	for _, r := range c.Reps {
		if v, ok := m.value(r); ok {
			out = append(out, v)
		}
	}
	return out
}

// compareMetric applies the rule: a metric regresses only if its median
// moved the bad way by more than the limit AND the U test says p < alpha.
func compareMetric(m metric, base, cur []float64, l Limits) MetricResult {
	res := MetricResult{
		Metric: m.name, Unit: m.unit, HigherIsBetter: m.higherIsBetter,
		N1: len(base), N2: len(cur), Alpha: l.Alpha, LimitPct: m.limit(l), P: math.NaN(),
	}
	if len(base) == 0 || len(cur) == 0 {
		res.Verdict = NotMeasured
		return res
	}
	th := &benchmath.Thresholds{CompareAlpha: l.Alpha}
	bs, cs := benchmath.NewSample(base, th), benchmath.NewSample(cur, th)
	res.Baseline = benchmath.AssumeNothing.Summary(bs, 0.95).Center
	res.Current = benchmath.AssumeNothing.Summary(cs, 0.95).Center
	res.ChangePct = changePct(res.Baseline, res.Current)

	cmp := benchmath.AssumeNothing.Compare(bs, cs)
	res.P = cmp.P
	for _, w := range cmp.Warnings {
		res.Warnings = append(res.Warnings, w.Error())
	}
	worse := res.ChangePct
	if m.higherIsBetter {
		worse = -worse
	}
	switch {
	case !canReachSignificance(len(base), len(cur), l.Alpha):
		res.Verdict = Insufficient
	case cmp.P >= l.Alpha:
		res.Verdict = OK
	case worse > res.LimitPct:
		res.Verdict = Regressed
	case worse < 0:
		res.Verdict = Improved
	default:
		res.Verdict = OK
	}
	return res
}

func changePct(base, cur float64) float64 {
	switch {
	case base == cur:
		return 0
	case base == 0:
		return math.Copysign(math.Inf(1), cur)
	}
	return (cur/base - 1) * 100
}

// canReachSignificance asks benchmath whether samples of these sizes could
// ever give p < alpha, by testing two completely separated samples: if even
// those are not significant, no real data can be.
func canReachSignificance(n1, n2 int, alpha float64) bool {
	lo, hi := make([]float64, n1), make([]float64, n2)
	for i := range lo {
		lo[i] = float64(i)
	}
	for i := range hi {
		hi[i] = float64(n1 + i)
	}
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	return benchmath.AssumeNothing.Compare(benchmath.NewSample(lo, th), benchmath.NewSample(hi, th)).P < alpha
}

// MinRepetitions is the fewest repetitions per side (equal on both) with
// which the test can reach significance at alpha: 4 at 0.05.
func MinRepetitions(alpha float64) int {
	n := 1
	for n < 50 && !canReachSignificance(n, n, alpha) {
		n++
	}
	return n
}

// unusedOverrides flags per-workload thresholds that match no result: most
// likely a misspelt workload name.
func unusedOverrides(cfg Config, sets ...[]results.Result) []string {
	present := map[string]bool{}
	for _, rs := range sets {
		for _, r := range rs {
			present[r.Workload] = true
		}
	}
	var notes []string
	for _, name := range cfg.workloadNames() {
		if !present[name] {
			notes = append(notes, fmt.Sprintf("gate config overrides workload %q, which neither result set holds", name))
		}
	}
	return notes
}
