// Package gate is the CI regression gate. It judges a candidate against a
// baseline two ways — interleaved A/B pairs measured in one job
// (ComparePaired), or a stored baseline of two or more earlier runs whose
// between-run drift it allows for (Compare) — with one rule: a metric
// regresses only when the whole confidence interval of its change lies
// beyond its limit. It fails the build on any correctness breach without
// statistics.
package gate

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/summary"
)

// Exit codes of the gate command.
const (
	// ExitPass: no regression, no breach.
	ExitPass = 0
	// ExitRegression: a metric regressed beyond its limit, or a run broke
	// a strategy's guarantee (or, with Strict, a metric was inconclusive).
	ExitRegression = 1
	// ExitInput: bad usage, unreadable or malformed files, mismatched
	// settings, or points missing on one side (unless allowed).
	ExitInput = 2
)

// Verdict is the outcome for one metric of one point.
type Verdict string

// The verdicts.
const (
	// OK: the confidence interval of the change stays within the limit.
	OK Verdict = "ok"
	// Improved: the whole interval lies in the good direction.
	Improved Verdict = "improved"
	// Regressed: the whole interval lies beyond the limit.
	Regressed Verdict = "REGRESSED"
	// Inconclusive: the samples cannot tell whether the change is within
	// the limit (the interval straddles it, or there are too few).
	Inconclusive Verdict = "inconclusive"
	// NotGated: measured and shown, but not judged: an absolute figure
	// against a stored baseline, which the machine's speed moves.
	NotGated Verdict = "not gated"
	// NotMeasured: one side has no value (no commits, no crash phase).
	NotMeasured Verdict = "n/a"
)

// Report is the outcome of a comparison with a stored baseline.
type Report struct {
	// Baseline and Current name the inputs (paths, set by Run).
	Baseline, Current string
	// ConfigSource says where the thresholds came from; Defaults are the
	// limits of workloads without an override, Overrides the workloads
	// with one.
	ConfigSource string
	Defaults     Limits
	Overrides    []string
	// BaselineRuns are the run ids the baseline holds; the between-run
	// drift is measured over them (unknown with one).
	BaselineRuns []string
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
	// Strict makes an inconclusive metric fail the gate.
	Strict bool

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
	// Metric is ceiling-share, throughput, commit-p99 or recovery.
	Metric string
	// Unit is the values' unit.
	Unit string
	// Baseline and Current are geometric means over the repetitions (the
	// baseline's over its runs' means, each run weighing the same).
	Baseline, Current float64
	// N1 and N2 are the repetitions behind each side; Runs the baseline's
	// runs.
	N1, N2, Runs int
	// ChangePct is the change in percent (+ is up), LoPct and HiPct the
	// bounds of its 1-alpha confidence interval.
	ChangePct, LoPct, HiPct float64
	// DriftPct is the largest difference between the baseline's runs of
	// unchanged code (NaN with one run).
	DriftPct float64
	// Alpha sets the interval's level.
	Alpha float64
	// LimitPct is the tolerated change in the bad direction, and
	// AllowedPct what the verdict held the interval to: the larger of the
	// limit and the recorded drift.
	LimitPct, AllowedPct float64
	// HigherIsBetter says which direction is bad.
	HigherIsBetter bool
	Verdict        Verdict
	// Why explains an inconclusive, regressed or ungated verdict.
	Why string
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
	// Strict fails the gate on an inconclusive metric.
	Strict bool
	// Absolute gates absolute throughput and commit latency against the
	// stored baseline too (a dedicated, quiet machine); by default only
	// figures that cancel the machine's speed are gated.
	Absolute bool
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
	cfg.Absolute = cfg.Absolute || o.Absolute
	rep, err := Compare(base, cur, cfg)
	if err != nil {
		return nil, err
	}
	rep.Baseline, rep.Current, rep.AllowMissing, rep.Strict = o.Baseline, o.Current, o.AllowMissing, o.Strict
	return rep, nil
}

// Compare judges current against a stored baseline under cfg. It returns
// a *MismatchError when settings differ, so figures from different set-ups
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
		BaselineRuns: RunIDs(baseline),
		Breaches:     CheckCorrectness(current),
		baseline:     baseline,
		current:      current,
	}
	baseMetrics, curMetrics := gatedMetrics(baseline), gatedMetrics(current)
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
		l := cfg.For(c.Workload)
		cv := CellVerdict{Key: c.Key, Workload: c.Workload, Limits: l}
		share := len(values(c, curMetrics[0])) > 0
		for i := range curMetrics {
			gated := !curMetrics[i].absolute || cfg.Absolute ||
				// Without a ceiling in the run, absolute throughput is
				// all there is to gate.
				curMetrics[i].name == metricThroughput && !share && c.Strategy != strategy.None
			cv.Metrics = append(cv.Metrics, compareStored(curMetrics[i], baseMetrics[i], b, c, l, gated))
		}
		rep.Cells = append(rep.Cells, cv)
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
	if len(rep.BaselineRuns) < 2 {
		rep.Notes = append(rep.Notes, "the baseline holds one run, so the machine's drift between runs is unknown and not allowed for: record it from two or more runs (commitbench gate record RUN1 RUN2 …)")
	}
	return rep, nil
}

// RunIDs lists the distinct runs of rs in the order they appear.
func RunIDs(rs []results.Result) []string {
	var ids []string
	for _, r := range rs {
		if !slices.Contains(ids, r.RunID) {
			ids = append(ids, r.RunID)
		}
	}
	return ids
}

// ExitCode is the gate's exit code for this report. Missing points make it
// ExitInput unless allowed, because the gate could not check everything it
// was given.
func (r *Report) ExitCode() int {
	switch {
	case !r.AllowMissing && (len(r.MissingInCurrent) > 0 || len(r.MissingInBaseline) > 0):
		return ExitInput
	case len(r.Breaches) > 0 || r.Count(Regressed) > 0 || r.Strict && r.Count(Inconclusive) > 0:
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

// The gated metrics' names.
const (
	metricCeilingShare = "ceiling-share"
	metricThroughput   = "throughput"
	metricCommitP99    = "commit-p99"
	metricRecovery     = "recovery"
)

// metric is one gated figure: how to read it from a result and which
// threshold guards it.
type metric struct {
	name, unit     string
	higherIsBetter bool
	// absolute figures move with the machine's speed: against a stored
	// baseline they are shown, and gated only on request.
	absolute bool
	value    func(results.Result) (float64, bool)
	limit    func(Limits) float64
}

// gatedMetrics are the metrics, ceiling share first. The ceiling share of
// a result is its throughput over that of the `none` cell of the same run,
// workload, broker and repetition in rs — measured minutes apart on the
// same machine, so the machine's speed cancels in the ratio.
func gatedMetrics(rs []results.Result) []metric {
	type at struct {
		run, workload, broker string
		rep                   int
	}
	ceiling := map[at]float64{}
	for _, r := range rs {
		if r.Strategy == strategy.None {
			ceiling[at{r.RunID, r.Workload, r.Broker.Label(), r.Repetition}] = r.Throughput.RecordsPerSec
		}
	}
	return []metric{
		{
			name: metricCeilingShare, unit: "% of ceiling", higherIsBetter: true,
			value: func(r results.Result) (float64, bool) {
				c, ok := ceiling[at{r.RunID, r.Workload, r.Broker.Label(), r.Repetition}]
				if !ok || c <= 0 || r.Strategy == strategy.None {
					return 0, false
				}
				return 100 * r.Throughput.RecordsPerSec / c, true
			},
			limit: func(l Limits) float64 { return l.ThroughputDropPct },
		},
		{
			name: metricThroughput, unit: "records/s", higherIsBetter: true, absolute: true,
			value: func(r results.Result) (float64, bool) { return r.Throughput.RecordsPerSec, true },
			limit: func(l Limits) float64 { return l.ThroughputDropPct },
		},
		{
			name: metricCommitP99, unit: "µs", absolute: true,
			// A p99 of fewer samples is a maximum: not gated (n/a), as
			// every printer refuses to show it.
			value: func(r results.Result) (float64, bool) {
				return summary.P99.Value(r.Throughput.CommitLatency)
			},
			limit: func(l Limits) float64 { return l.CommitP99RisePct },
		},
		{
			name: metricRecovery, unit: "ms",
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

func values(c results.CellReps, m metric) []float64 {
	var out []float64
	for _, r := range c.Reps {
		if v, ok := m.value(r); ok && v > 0 {
			out = append(out, v)
		}
	}
	return out
}

// compareStored judges one metric against a stored baseline on the logs of
// the values: the baseline's centre is the mean of its runs' means; the
// interval is Welch's, from the spread within the baseline's runs and
// within the current run; and the interval is held to the larger of the
// limit and the drift between the baseline's runs, so the machine's drift
// between runs of unchanged code does not fail a build.
func compareStored(mc, mb metric, base, cur results.CellReps, l Limits, gated bool) MetricResult {
	res := MetricResult{
		Metric: mc.name, Unit: mc.unit, HigherIsBetter: mc.higherIsBetter, Alpha: l.Alpha,
		LimitPct: mc.limit(l), ChangePct: math.NaN(), LoPct: math.NaN(), HiPct: math.NaN(), DriftPct: math.NaN(),
	}
	runs := runLogs(base, mb)
	var lc []float64
	for _, v := range values(cur, mc) {
		lc = append(lc, math.Log(v))
	}
	res.N2, res.Runs = len(lc), len(runs)
	if len(runs) == 0 || len(lc) == 0 {
		res.Verdict = NotMeasured
		return res
	}
	// The baseline: each run's mean, their mean, the spread within runs
	// (pooled), and the drift between runs (the range of their means).
	var means []float64
	var within, inv float64
	for _, v := range runs {
		m := stat.Mean(v, nil)
		means = append(means, m)
		for _, x := range v {
			within += (x - m) * (x - m)
		}
		res.N1 += len(v)
		inv += 1 / float64(len(v))
	}
	mb0 := stat.Mean(means, nil)
	res.DriftPct = drift(means)
	mc0 := stat.Mean(lc, nil)
	res.Baseline, res.Current = math.Exp(mb0), math.Exp(mc0)
	res.ChangePct = 100 * (math.Exp(mc0-mb0) - 1)
	res.AllowedPct = res.LimitPct
	if !math.IsNaN(res.DriftPct) {
		res.AllowedPct = max(res.LimitPct, res.DriftPct)
	}
	dfBase := res.N1 - len(runs)
	switch {
	case res.N2 < MinPairs:
		res.Verdict, res.Why = Inconclusive, fmt.Sprintf("%d repetitions in the current run, fewer than %d", res.N2, MinPairs)
		return res
	case dfBase < 2:
		res.Verdict, res.Why = Inconclusive, fmt.Sprintf("the baseline's runs have %d repetitions in all, too few to measure their spread (3 or more per run)", res.N1)
		return res
	}
	// Welch: the variance of each side's mean, and Satterthwaite's
	// degrees of freedom.
	sb2 := within / float64(dfBase)
	sc2 := stat.Variance(lc, nil)
	k := float64(len(runs))
	vb := sb2 * inv / (k * k)
	vc := sc2 / float64(res.N2)
	se := math.Sqrt(vb + vc)
	df := 1.0
	if num := (vb + vc) * (vb + vc); num > 0 {
		df = num / (vb*vb/float64(dfBase) + vc*vc/float64(res.N2-1))
	}
	c := logInterval(mc0-mb0, se, df, l.Alpha)
	res.LoPct, res.HiPct = c.lo, c.hi
	res.Verdict, res.Why = judge(c, res.AllowedPct, mc.higherIsBetter)
	if res.Verdict == Regressed && res.AllowedPct > res.LimitPct {
		res.Why = fmt.Sprintf("the whole interval lies beyond the %.0f%% limit and the baseline's %.1f%% drift between runs", res.LimitPct, res.DriftPct)
	}
	if !gated {
		res.Verdict, res.Why = NotGated, "absolute figure; the machine's speed moves it between runs (gate it in gate ab, or with --absolute)"
	}
	return res
}

// runLogs are the logs of a metric's values in a cell, run by run, in the
// order the runs appear.
func runLogs(c results.CellReps, m metric) [][]float64 {
	idx := map[string]int{}
	var out [][]float64
	for _, r := range c.Reps {
		v, ok := m.value(r)
		if !ok || v <= 0 {
			continue
		}
		i, seen := idx[r.RunID]
		if !seen {
			i = len(out)
			idx[r.RunID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], math.Log(v))
	}
	return out
}

// drift is the range of the runs' mean logs as a percentage: the most two
// runs of unchanged code differed by. NaN with fewer than two runs.
func drift(means []float64) float64 {
	if len(means) < 2 {
		return math.NaN()
	}
	return 100 * (math.Exp(slices.Max(means)-slices.Min(means)) - 1)
}

// CellDrift is the drift between the runs of one recorded cell, by metric
// name (percent; absent where a metric was not measured).
type CellDrift struct {
	Key   string
	Runs  int
	ByPct map[string]float64
}

// Drifts measures, cell by cell, how far the runs of rs differ in each
// metric: what a baseline recorded from them allows for.
func Drifts(rs []results.Result) []CellDrift {
	ms := gatedMetrics(rs)
	var out []CellDrift
	for _, c := range results.ByCell(rs) {
		d := CellDrift{Key: c.Key, Runs: len(RunIDs(c.Reps)), ByPct: map[string]float64{}}
		for _, m := range ms {
			var means []float64
			for _, v := range runLogs(c, m) {
				means = append(means, stat.Mean(v, nil))
			}
			if x := drift(means); !math.IsNaN(x) {
				d.ByPct[m.name] = x
			}
		}
		out = append(out, d)
	}
	return out
}

// MinRepetitions is the fewest repetitions per run a point needs on each
// side of a stored-baseline comparison to be judged.
const MinRepetitions = MinPairs

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
