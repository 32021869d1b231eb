package gate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"

	"github.com/commitbench/commitbench/bench/results"
)

// PairedMetric is one metric of one cell judged on interleaved A/B pairs.
type PairedMetric struct {
	Metric, Unit string
	// N is the number of pairs; A and B the sides' geometric means.
	N    int
	A, B float64
	// ChangePct is the change B over A, and LoPct and HiPct the bounds of
	// its 95% confidence interval, in percent (+ is up).
	ChangePct, LoPct, HiPct float64
	// LimitPct is the tolerated change in the bad direction.
	LimitPct       float64
	HigherIsBetter bool
	Verdict        Verdict
	// Why explains an inconclusive or regressed verdict.
	Why string
}

// PairedCell is one cell compared pair by pair.
type PairedCell struct {
	Key     string
	Metrics []PairedMetric
}

// PairedReport is the outcome of an A/B run.
type PairedReport struct {
	Cells []PairedCell
	// Breaches are correctness failures on either side, found by the one
	// claim check; Side says which.
	Breaches []Breach
	// Sides says which run each breach came from, parallel to Breaches.
	Sides []string
	// Strict makes an inconclusive metric fail the gate.
	Strict bool
}

// ComparePaired judges candidate b against baseline a, pairing the
// repetitions of each cell: both sides ran interleaved on one broker and
// topic, so each pair shares the machine's state and the machine's drift
// cancels in the ratio. A metric regresses only when the whole 1-alpha
// confidence interval of the change lies beyond its limit; when the
// interval straddles the limit it is inconclusive.
func ComparePaired(a, b []results.Result, l Limits) (*PairedReport, error) {
	rep := &PairedReport{}
	for _, side := range []struct {
		name string
		rs   []results.Result
	}{{"baseline", a}, {"candidate", b}} {
		for _, br := range CheckCorrectness(side.rs) {
			rep.Breaches = append(rep.Breaches, br)
			rep.Sides = append(rep.Sides, side.name)
		}
	}
	type key struct {
		cell string
		rep  int
	}
	byKey := map[key]results.Result{}
	for _, r := range a {
		byKey[key{r.Key, r.Repetition}] = r
	}
	for _, c := range results.ByCell(b) {
		var pa, pb []results.Result
		for _, rb := range c.Reps {
			ra, ok := byKey[key{c.Key, rb.Repetition}]
			if !ok {
				continue
			}
			pa, pb = append(pa, ra), append(pb, rb)
		}
		if len(pa) == 0 {
			return nil, fmt.Errorf("cell %s has no baseline repetition to pair with", c.Key)
		}
		cell := PairedCell{Key: c.Key}
		for _, m := range gatedMetrics(nil) {
			if m.name == metricCeilingShare {
				// Both sides share the machine's state pair by pair:
				// absolute figures are comparable as they are.
				continue
			}
			cell.Metrics = append(cell.Metrics, comparePairs(m, pa, pb, l))
		}
		rep.Cells = append(rep.Cells, cell)
	}
	return rep, nil
}

// comparePairs judges one metric on the log-ratios of its pairs: their
// mean and a Student-t interval, turned back into percent.
func comparePairs(m metric, a, b []results.Result, l Limits) PairedMetric {
	pm := PairedMetric{Metric: m.name, Unit: m.unit, LimitPct: m.limit(l), HigherIsBetter: m.higherIsBetter,
		ChangePct: math.NaN(), LoPct: math.NaN(), HiPct: math.NaN()}
	var logs, la, lb []float64
	for i := range a {
		va, oka := m.value(a[i])
		vb, okb := m.value(b[i])
		if !oka || !okb || va <= 0 || vb <= 0 {
			continue
		}
		logs = append(logs, math.Log(vb/va))
		la, lb = append(la, math.Log(va)), append(lb, math.Log(vb))
	}
	pm.N = len(logs)
	if pm.N == 0 {
		pm.Verdict = NotMeasured
		return pm
	}
	pm.A, pm.B = math.Exp(stat.Mean(la, nil)), math.Exp(stat.Mean(lb, nil))
	mean := stat.Mean(logs, nil)
	pm.ChangePct = 100 * (math.Exp(mean) - 1)
	if pm.N < MinPairs {
		pm.Verdict, pm.Why = Inconclusive, fmt.Sprintf("%d pairs, fewer than %d", pm.N, MinPairs)
		return pm
	}
	se := stat.StdDev(logs, nil) / math.Sqrt(float64(pm.N))
	c := logInterval(mean, se, float64(pm.N-1), l.Alpha)
	pm.LoPct, pm.HiPct = c.lo, c.hi
	pm.Verdict, pm.Why = judge(c, pm.LimitPct, m.higherIsBetter)
	return pm
}

// ExitCode is the gate's exit code: a breach or a regression fails; an
// inconclusive metric fails only when Strict.
func (r *PairedReport) ExitCode() int {
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			if m.Verdict == Regressed || r.Strict && m.Verdict == Inconclusive {
				return ExitRegression
			}
		}
	}
	if len(r.Breaches) > 0 {
		return ExitRegression
	}
	return ExitPass
}
