package model

import (
	"fmt"
	"math"

	"github.com/commitbench/commitbench/bench/strategy"
)

// Hybrid is a commit interval of both kinds: a commit every Records
// records or every Seconds seconds, whichever comes first (0 turns that
// trigger off).
type Hybrid struct {
	Records, Seconds float64
}

// The claim's two intervals: frequent ("100 records or 5 s") and batched
// ("10,000 records or 60 s").
var (
	ClaimFrequent = Hybrid{Records: 100, Seconds: 5}
	ClaimBatched  = Hybrid{Records: 10_000, Seconds: 60}
)

// String is the interval as the claim says it: "10,000 records or 60 s".
func (h Hybrid) String() string {
	switch {
	case h.Records > 0 && h.Seconds > 0:
		return fmt.Sprintf("%s records or %g s", thousands(h.Records), h.Seconds)
	case h.Seconds > 0:
		return fmt.Sprintf("every %g s", h.Seconds)
	}
	return thousands(h.Records) + " records"
}

// ThroughputAt is the model's records/s committing at iv. With
// throughput(N) = 1/(p + c/N), a count trigger alone gives N; a time
// trigger alone gives N = r·T, whose fixed point r = 1/(p + c/(r·T)) is
// r = (1 − c/T)/p (ThroughputEvery). With both, the effective N is
// min(N, r·T) at the rate r it produces, and that is consistent in one
// step: r·N/r ≤ T means the count fires first at r = throughput(N); else
// the time trigger fires first, at the time fixed point, whose N = r·T is
// then below N (throughput(n)·T − n is concave in n, so it has one root).
// Either way the rate is min(throughput(N), ThroughputEvery(T)).
func (f Fit) ThroughputAt(iv Hybrid) float64 {
	r := math.Inf(1)
	if iv.Records > 0 {
		r = f.Throughput(iv.Records)
	}
	if iv.Seconds > 0 {
		r = min(r, f.ThroughputEvery(iv.Seconds))
	}
	if math.IsInf(r, 1) {
		return f.Ceiling()
	}
	return r
}

// RecordsPerCommitAt is the effective N at iv: min(N, r·T) at the rate r
// the interval gives (ThroughputAt).
func (f Fit) RecordsPerCommitAt(iv Hybrid) float64 {
	n := math.Inf(1)
	if iv.Records > 0 {
		n = iv.Records
	}
	if iv.Seconds > 0 {
		n = min(n, f.ThroughputAt(iv)*iv.Seconds)
	}
	return n
}

// ReplayAt is the replay one crash at a uniformly random moment costs on
// average: half the effective N.
func (f Fit) ReplayAt(iv Hybrid) float64 { return f.RecordsPerCommitAt(iv) / 2 }

// ClaimGain is the model's gain of the claim's batched interval over its
// frequent one at the fit's p and c: throughput at "10,000 records or
// 60 s" over throughput at "100 records or 5 s", minus one. It is +Inf
// where a commit outlasts the frequent interval's time limit.
func (f Fit) ClaimGain() float64 {
	fr := f.ThroughputAt(ClaimFrequent)
	if fr <= 0 {
		return math.Inf(1)
	}
	return f.ThroughputAt(ClaimBatched)/fr - 1
}

// InClaim reports whether a gain lies in the claimed range.
func InClaim(gain float64) bool { return gain >= ClaimGainLow && gain <= ClaimGainHigh }

// The claim map's default grid, per record and per commit, in seconds:
// per-record work from 1 µs to 10 ms, commits from 0.1 ms (a fast local
// broker) to 20 ms (a replicated, remote one).
const (
	MapPerRecordLo, MapPerRecordHi = 1e-6, 10e-3
	MapPerCommitLo, MapPerCommitHi = 0.1e-3, 20e-3
	// MapCellsPerDecade is the grid's resolution.
	MapCellsPerDecade = 8
)

// ClaimMap is the claim's gain over a log-spaced grid of per-record costs
// p and per-commit costs c.
type ClaimMap struct {
	// PerRecordEdges and PerCommitEdges are the cells' boundaries, in
	// seconds, ascending; PerRecordS and PerCommitS the cells' centres
	// (geometric means of their edges).
	PerRecordEdges, PerCommitEdges []float64
	PerRecordS, PerCommitS         []float64
	// Gain[i][j] is the claim's gain at PerRecordS[i] and PerCommitS[j].
	Gain [][]float64
}

// NewClaimMap computes the claim's gain on a grid spanning [pLo, pHi] ×
// [cLo, cHi] with perDecade cells per decade on each axis.
func NewClaimMap(pLo, pHi, cLo, cHi float64, perDecade int) (ClaimMap, error) {
	if pLo <= 0 || cLo <= 0 || pHi <= pLo || cHi <= cLo || perDecade < 1 {
		return ClaimMap{}, fmt.Errorf("claim map: need 0 < low < high on both axes and at least one cell per decade, got p [%g, %g], c [%g, %g], %d per decade", pLo, pHi, cLo, cHi, perDecade)
	}
	m := ClaimMap{PerRecordEdges: logEdges(pLo, pHi, perDecade), PerCommitEdges: logEdges(cLo, cHi, perDecade)}
	m.PerRecordS, m.PerCommitS = centres(m.PerRecordEdges), centres(m.PerCommitEdges)
	m.Gain = make([][]float64, len(m.PerRecordS))
	for i, p := range m.PerRecordS {
		m.Gain[i] = make([]float64, len(m.PerCommitS))
		for j, c := range m.PerCommitS {
			m.Gain[i][j] = Fit{PerRecordS: p, PerCommitS: c}.ClaimGain()
		}
	}
	return m, nil
}

// DefaultClaimMap is the claim map over the default grid, widened to the
// decades that hold the given fits, so that a run's own costs are on it.
func DefaultClaimMap(fits ...Fit) (ClaimMap, error) {
	pLo, pHi, cLo, cHi := MapPerRecordLo, MapPerRecordHi, MapPerCommitLo, MapPerCommitHi
	for _, f := range fits {
		pLo, pHi = widen(pLo, pHi, f.PerRecordS)
		cLo, cHi = widen(cLo, cHi, f.PerCommitS)
	}
	return NewClaimMap(pLo, pHi, cLo, cHi, MapCellsPerDecade)
}

// widen stretches [lo, hi] to the power of ten beyond v when v lies
// outside it.
func widen(lo, hi, v float64) (float64, float64) {
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return lo, hi
	}
	if v < lo {
		lo = math.Pow(10, math.Floor(math.Log10(v)))
	}
	if v > hi {
		hi = math.Pow(10, math.Ceil(math.Log10(v)))
	}
	return lo, hi
}

// InBand reports whether cell (i, j)'s gain lies in the claimed range.
func (m ClaimMap) InBand(i, j int) bool { return InClaim(m.Gain[i][j]) }

// Segment is one straight edge of a cell, from (P0, C0) to (P1, C1), in
// seconds per record and per commit.
type Segment struct {
	P0, C0, P1, C1 float64
}

// Outline is the border of the band where the claim holds: every cell
// edge with an in-band cell on one side and an out-of-band cell (or the
// grid's border) on the other. It encloses exactly the in-band cells.
func (m ClaimMap) Outline() []Segment {
	in := func(i, j int) bool {
		return i >= 0 && j >= 0 && i < len(m.PerRecordS) && j < len(m.PerCommitS) && m.InBand(i, j)
	}
	pe, ce := m.PerRecordEdges, m.PerCommitEdges
	var out []Segment
	for i := range m.PerRecordS {
		for j := range m.PerCommitS {
			if !in(i, j) {
				continue
			}
			if !in(i-1, j) {
				out = append(out, Segment{pe[i], ce[j], pe[i], ce[j+1]})
			}
			if !in(i+1, j) {
				out = append(out, Segment{pe[i+1], ce[j], pe[i+1], ce[j+1]})
			}
			if !in(i, j-1) {
				out = append(out, Segment{pe[i], ce[j], pe[i+1], ce[j]})
			}
			if !in(i, j+1) {
				out = append(out, Segment{pe[i], ce[j+1], pe[i+1], ce[j+1]})
			}
		}
	}
	return out
}

// ClaimRange is where, at one per-commit cost, the claim holds.
type ClaimRange struct {
	PerCommitS float64
	// From and To bound the per-record costs (seconds) at which the gain
	// lies in the claimed range; Holds is false when there are none.
	From, To float64
	Holds    bool
}

// Search bounds for ClaimRangeAt, in seconds per record: a nanosecond to
// a second covers any consumer the model is meant for.
const claimSearchLo, claimSearchHi = 1e-9, 1.0

// ClaimRangeAt finds the per-record costs at which the claim's gain lies
// in [ClaimGainLow, ClaimGainHigh] for a per-commit cost c. The gain never
// grows with p (more work per record dilutes the commits), so the range
// is one interval, found by bisection on a log scale.
func ClaimRangeAt(c float64) ClaimRange {
	gain := func(p float64) float64 { return Fit{PerRecordS: p, PerCommitS: c}.ClaimGain() }
	r := ClaimRange{PerCommitS: c}
	if gain(claimSearchLo) < ClaimGainLow || gain(claimSearchHi) > ClaimGainHigh {
		// Below the range at the smallest p (so everywhere), or above
		// it at the largest (so everywhere).
		return r
	}
	// first is the smallest p with gain ≤ g.
	first := func(g float64) float64 {
		lo, hi := claimSearchLo, claimSearchHi
		if gain(lo) <= g {
			return lo
		}
		for range 200 {
			mid := math.Sqrt(lo * hi)
			if gain(mid) <= g {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	r.From, r.To, r.Holds = first(ClaimGainHigh), first(ClaimGainLow), true
	return r
}

// ReferenceFit is the fit the claim map marks for this panel: that of
// at-least-once-sync, whose commits are the synchronous ones the model's
// c stands for, else the first fitted strategy's. ok is false when no
// strategy was fitted.
func (p Panel) ReferenceFit() (strategyName string, f Fit, ok bool) {
	if f, ok := p.Fits[strategy.AtLeastOnceSync]; ok {
		return strategy.AtLeastOnceSync, f, true
	}
	for _, s := range p.Strategies() {
		if f, ok := p.Fits[s]; ok {
			return s, f, true
		}
	}
	return "", Fit{}, false
}

func logEdges(lo, hi float64, perDecade int) []float64 {
	n := int(math.Ceil(math.Log10(hi/lo)*float64(perDecade) - 1e-9))
	edges := make([]float64, n+1)
	for k := range edges {
		edges[k] = lo * math.Pow(hi/lo, float64(k)/float64(n))
	}
	edges[n] = hi
	return edges
}

func centres(edges []float64) []float64 {
	out := make([]float64, len(edges)-1)
	for k := range out {
		out[k] = math.Sqrt(edges[k] * edges[k+1])
	}
	return out
}

// thousands prints a whole number with thousands separators: 10,000.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
