package model

import "math"

// The domain's claim: batched commits (10,000 records / 60 s) give 10–30%
// more throughput than frequent ones (100 records / 5 s).
const (
	ClaimGainLow  = 0.10
	ClaimGainHigh = 0.30
)

// claimed are the intervals the claim compares, per axis (records, seconds).
var claimed = map[Axis][2]float64{
	AxisCount: {ClaimFrequent.Records, ClaimBatched.Records},
	AxisTime:  {ClaimFrequent.Seconds, ClaimBatched.Seconds},
}

// ClaimCheck sets what one strategy measured next to the claim.
type ClaimCheck struct {
	Strategy string
	Axis     Axis
	// ClaimFrequent and ClaimBatched are the intervals the claim names.
	ClaimFrequent, ClaimBatched float64
	// Frequent and Batched are the measured points compared; Exact says
	// whether they are the claimed intervals or the nearest measured ones.
	Frequent, Batched CurvePoint
	Exact             bool
	// Gain is Batched's throughput over Frequent's, minus one.
	Gain float64
}

// Within reports whether the measured gain lies in the claimed range.
func (c ClaimCheck) Within() bool { return InClaim(c.Gain) }

// CheckClaim compares, per series (a strategy's pure-count, time or hybrid
// intervals) and axis with at least two intervals, the measured throughput
// at the claim's intervals or the nearest measured ones (nearest on a log
// scale). The claim itself is hybrid ("100 records or 5 s"), so hybrid
// series are compared on their record counts, never mixed with pure ones.
func (p Panel) CheckClaim() []ClaimCheck {
	var out []ClaimCheck
	for _, a := range Axes {
		// A strategy's pure intervals form one group and its hybrid ones
		// (whatever their time limits) another.
		bySeries := map[string][]CurvePoint{}
		var series []string
		for _, pt := range p.OnAxis(a) {
			key := pt.Strategy
			if pt.Interval.Kind() == "hybrid" {
				key += " (hybrid)"
			}
			if _, seen := bySeries[key]; !seen {
				series = append(series, key)
			}
			bySeries[key] = append(bySeries[key], pt)
		}
		for _, s := range series {
			pts := bySeries[s]
			want := claimed[a]
			batched, ok := nearest(pts, want[1], math.Inf(1))
			if !ok {
				continue
			}
			frequent, ok := nearest(pts, want[0], batched.X)
			if !ok || frequent.Throughput.Mean <= 0 {
				continue
			}
			out = append(out, ClaimCheck{
				Strategy: s, Axis: a, ClaimFrequent: want[0], ClaimBatched: want[1],
				Frequent: frequent, Batched: batched,
				Exact: frequent.X == want[0] && batched.X == want[1],
				Gain:  batched.Throughput.Mean/frequent.Throughput.Mean - 1,
			})
		}
	}
	return out
}

// nearest is the point closest to x on a log scale among those below limit.
func nearest(pts []CurvePoint, x, limit float64) (CurvePoint, bool) {
	var best CurvePoint
	bestD, found := math.Inf(1), false
	for _, pt := range pts {
		if pt.X <= 0 || pt.X >= limit {
			continue
		}
		if d := math.Abs(math.Log(pt.X / x)); d < bestD {
			best, bestD, found = pt, d, true
		}
	}
	return best, found
}
