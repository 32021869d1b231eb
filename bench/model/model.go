// Package model is commitbench's first-order cost model and what it is
// fitted to: per-cell summaries of a run's results, the least-squares fit of
// throughput ≈ 1/(p + c/N) (per-record cost p, per-commit cost c, N records
// per commit), capacity planning from a duplicate budget and a required
// rate, and the check of the domain's batching claim. Plots and reports read
// the data through this package so that both show the same numbers.
package model

import (
	"errors"
	"fmt"
	"math"
)

// MinR2 is the least coefficient of determination a fit needs to be
// shown as numbers: below it the points do not follow the model, and its p
// and c would mean nothing.
const MinR2 = 0.9

// FarOff is the relative distance from the fitted curve beyond which a
// measured point is flagged as worth explaining.
const FarOff = 0.15

// Observation is one measured throughput at N records per commit.
type Observation struct {
	// RecordsPerCommit is N; +Inf when nothing was committed.
	RecordsPerCommit float64
	// RecordsPerSec is the measured throughput.
	RecordsPerSec float64
}

// Fit is the cost model fitted to one strategy on one broker and workload.
type Fit struct {
	// PerRecordS is p, the cost of one record in seconds.
	PerRecordS float64
	// PerCommitS is c, the cost one commit adds, in seconds.
	PerCommitS float64
	// Observations is how many measurements the fit used.
	Observations int
	// R2 is the coefficient of determination of the linear fit of
	// 1/throughput against 1/N.
	R2 float64
}

// FitCost fits p and c by ordinary least squares. 1/throughput = p + c·(1/N)
// is linear in 1/N, so the closed-form line fit is exact and needs no
// optimiser. It needs at least two distinct N.
func FitCost(obs []Observation) (Fit, error) {
	var xs, ys []float64
	for _, o := range obs {
		if o.RecordsPerSec <= 0 || o.RecordsPerCommit <= 0 || math.IsNaN(o.RecordsPerCommit) {
			continue
		}
		xs = append(xs, 1/o.RecordsPerCommit) // +Inf N gives 0: no commit cost
		ys = append(ys, 1/o.RecordsPerSec)
	}
	if len(xs) < 2 {
		return Fit{}, errors.New("fitting the cost model needs at least two measured points")
	}
	// Repetitions of one interval differ slightly in measured N; they are
	// still one interval, and a line through one interval is noise.
	lo, hi := minMax(xs)
	if hi <= lo*1.01 {
		return Fit{}, fmt.Errorf("fitting the cost model needs at least two different intervals; all %d points commit about every %.0f records", len(xs), 1/hi)
	}
	mx, my := mean(xs), mean(ys)
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	c := sxy / sxx
	f := Fit{PerRecordS: my - c*mx, PerCommitS: c, Observations: len(xs), R2: 1}
	if syy > 0 {
		f.R2 = sxy * sxy / (sxx * syy)
	}
	switch {
	case f.PerRecordS <= 0:
		return Fit{}, fmt.Errorf("the fit gives a per-record cost of %.3g µs, which is not positive: the points do not follow 1/(p + c/N)", f.PerRecordS*1e6)
	case f.PerCommitS <= 0:
		return Fit{}, fmt.Errorf("the fit gives a per-commit cost of %.3g µs (R² %.2f over %d points), which is not positive: commits did not measurably slow this strategy", f.PerCommitS*1e6, f.R2, f.Observations)
	case f.R2 < MinR2:
		return Fit{}, fmt.Errorf("R² is %.2f over %d points, below %.1f: the points do not follow 1/(p + c/N)", f.R2, f.Observations, MinR2)
	}
	return f, nil
}

// Throughput is the model's records/s at n records per commit.
func (f Fit) Throughput(n float64) float64 {
	if math.IsInf(n, 1) {
		return f.Ceiling()
	}
	return 1 / (f.PerRecordS + f.PerCommitS/n)
}

// ThroughputEvery is the model's records/s when committing every t seconds.
// Then N = r·t, and r = 1/(p + c/(r·t)) solves to r = (1 − c/t)/p; it is 0
// when a commit takes longer than the interval.
func (f Fit) ThroughputEvery(t float64) float64 {
	return max(0, (1-f.PerCommitS/t)/f.PerRecordS)
}

// Ceiling is the model's throughput without commits, 1/p.
func (f Fit) Ceiling() float64 { return 1 / f.PerRecordS }

// Deviation is how far a measured throughput lies from the model at n
// records per commit, relative to the model (+0.2 is 20% above the curve).
func (f Fit) Deviation(n, measured float64) float64 {
	return measured/f.Throughput(n) - 1
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
