package model

import (
	"errors"
	"fmt"
	"math"
)

// Budget is what a capacity plan must respect.
type Budget struct {
	// DupRecords is the most records one crash may replay (0: no limit).
	DupRecords float64
	// DupSeconds is the most traffic, in seconds, one crash may replay
	// (0: no limit). Seconds become records at Rate, or, without a rate,
	// at the consumer's own measured throughput.
	DupSeconds float64
	// Rate is the records/s the consumer group must sustain (0: unknown).
	Rate float64
	// CoordinatorCommitsPerSec is the most commits per second the group
	// coordinator sustains, as `commitbench capacity` measures it (0: not
	// measured, and the plan says so).
	CoordinatorCommitsPerSec float64
}

// Defaults for a plan nobody asked anything particular of.
const (
	// DefaultDupRecords is the duplicate budget of a plan given none: a
	// thousand records replayed per crash is the geometric middle of the
	// claim's two intervals (100 and 10,000 records), so the default plan
	// lands between the claim's ends and shows which measured intervals
	// lie on either side of it.
	DefaultDupRecords = 1000
	// DefaultCeilingShare is the share of the measured no-commit ceiling
	// a plan given no rate must sustain. A group whose consumers run at
	// half of what one could do without commits has the headroom to
	// catch up after a crash (the replay and the backlog of the recovery)
	// at twice the arrival rate, and at this rate the plan shows where
	// commits take more than half a consumer's capacity: there one
	// consumer no longer suffices.
	DefaultCeilingShare = 0.5
)

// DefaultRate is the rate a plan given none sustains: DefaultCeilingShare
// of the panel's measured ceiling (the strategy that never commits), else
// of its fastest measured point; basis says which. It is 0 when nothing
// was measured.
func (p Panel) DefaultRate() (rate float64, basis string) {
	for _, c := range p.Ceiling {
		if c.Throughput.Mean > 0 {
			return DefaultCeilingShare * c.Throughput.Mean, fmt.Sprintf("%.0f %% of the measured ceiling (%s, never commits)", 100*DefaultCeilingShare, c.Strategy)
		}
	}
	var best *CurvePoint
	for i, pt := range p.Points {
		if pt.Throughput.Mean > 0 && (best == nil || pt.Throughput.Mean > best.Throughput.Mean) {
			best = &p.Points[i]
		}
	}
	if best == nil {
		return 0, ""
	}
	return DefaultCeilingShare * best.Throughput.Mean, fmt.Sprintf("%.0f %% of the fastest measured point (%s at %s; no ceiling was measured)", 100*DefaultCeilingShare, best.Series, best.Label())
}

// Empty reports whether no duplicate budget was given.
func (b Budget) Empty() bool { return b.DupRecords <= 0 && b.DupSeconds <= 0 }

// records is the budget in records for a consumer measured at rate r.
func (b Budget) records(r float64) float64 {
	limit := math.Inf(1)
	if b.DupRecords > 0 {
		limit = b.DupRecords
	}
	if b.DupSeconds > 0 {
		rate := b.Rate
		if rate <= 0 {
			rate = r
		}
		limit = min(limit, b.DupSeconds*rate)
	}
	return limit
}

// Recommendation is the plan for one strategy on one axis.
type Recommendation struct {
	Strategy string
	Axis     Axis
	// Point is the largest interval within budget; nil when none fits.
	Point *CurvePoint
	// BudgetRecords is the duplicate budget in records at that point.
	BudgetRecords float64
	// Exceeds is the smallest measured interval larger than Point, which
	// the replay budget rules out; nil when Point is the largest measured
	// (then the measurements, not the budget, end the search).
	Exceeds *CurvePoint
	// Consumers is how many consumers (and so at least how many
	// partitions) Rate needs at Point's per-consumer throughput; 0 without
	// a rate. More than one means throughput binds: one consumer cannot
	// sustain the rate at this interval.
	Consumers int
	// GroupCommitsPerSec is the commits per second the whole group sends
	// the coordinator at Point: each consumer at its share of Rate (or at
	// its measured throughput without one), see CurvePoint.CommitsPerSecAt.
	GroupCommitsPerSec float64
	// Coordinator is how the group's commits compare with the
	// coordinator's measured capacity.
	Coordinator CoordinatorCheck
	// Note explains a missing or qualified recommendation.
	Note string
}

// ThroughputBinds reports whether the rate needs more than one consumer
// at the recommended interval.
func (r Recommendation) ThroughputBinds() bool { return r.Consumers > 1 }

// CoordinatorCheck is the group's commit rate against the coordinator's.
type CoordinatorCheck struct {
	// Measured is false when no coordinator capacity was given.
	Measured bool
	// LimitCommitsPerSec is the coordinator's capacity.
	LimitCommitsPerSec float64
	// Binds is true when the group would commit faster than that.
	Binds bool
	// MinRecordsPerCommit is the record count per commit at which the
	// group's commits fit the coordinator at Rate (0 without a rate).
	MinRecordsPerCommit float64
}

// CommitsPerSecAt is how often one consumer at this point commits while
// it consumes r records/s: every N records (or every measured records per
// commit, where async commits coalesce beyond N), and at least every T.
func (p CurvePoint) CommitsPerSecAt(r float64) float64 {
	iv := p.Interval
	var perSec float64
	if iv.Records > 0 {
		n := float64(iv.Records)
		if iv.Every == 0 && !math.IsInf(p.RecordsPerCommit, 0) && !math.IsNaN(p.RecordsPerCommit) {
			n = max(n, p.RecordsPerCommit)
		}
		perSec = r / n
	}
	if iv.Every > 0 {
		perSec = max(perSec, 1/iv.Every.D().Seconds())
	}
	return perSec
}

// Plan recommends, per strategy and axis, the largest measured interval
// whose expected worst replay per crash fits the budget, and the consumers
// the rate needs there.
func (p Panel) Plan(b Budget) ([]Recommendation, error) {
	if b.Empty() {
		return nil, errors.New("a capacity plan needs a duplicate budget: give --dup-budget-records or --dup-budget-seconds")
	}
	var out []Recommendation
	for _, s := range p.Strategies() {
		for _, a := range Axes {
			var cands []CurvePoint
			for _, pt := range p.OnAxis(a) {
				if pt.Strategy == s {
					cands = append(cands, pt)
				}
			}
			if len(cands) == 0 {
				continue
			}
			out = append(out, recommend(s, a, cands, b))
		}
	}
	return out, nil
}

func recommend(strategy string, a Axis, cands []CurvePoint, b Budget) Recommendation {
	sortByX(cands)
	rec := Recommendation{Strategy: strategy, Axis: a}
	for i := range cands {
		pt := cands[i]
		// Strictly larger, so a plain interval wins over a hybrid one at
		// the same record count (candidates keep their order of appearance).
		fits := pt.ExpectedMaxReplay() <= b.records(pt.Throughput.Mean)
		if fits && (rec.Point == nil || pt.X > rec.Point.X) {
			rec.Point = &cands[i]
		}
	}
	if rec.Point == nil {
		first := cands[0]
		rec.BudgetRecords = b.records(first.Throughput.Mean)
		rec.Note = fmt.Sprintf("none fits: the smallest, %s, may replay %.0f", first.Label(), first.ExpectedMaxReplay())
		return rec
	}
	pt := rec.Point
	rec.BudgetRecords = b.records(pt.Throughput.Mean)
	for i := range cands {
		if cands[i].X > pt.X {
			rec.Exceeds = &cands[i]
			break
		}
	}
	perConsumer := pt.Throughput.Mean
	if b.Rate > 0 && pt.Throughput.Mean > 0 {
		rec.Consumers = int(math.Ceil(b.Rate / pt.Throughput.Mean))
		perConsumer = b.Rate / float64(rec.Consumers)
	}
	rec.GroupCommitsPerSec = float64(max(rec.Consumers, 1)) * pt.CommitsPerSecAt(perConsumer)
	if l := b.CoordinatorCommitsPerSec; l > 0 {
		rec.Coordinator = CoordinatorCheck{Measured: true, LimitCommitsPerSec: l, Binds: rec.GroupCommitsPerSec > l}
		if b.Rate > 0 {
			rec.Coordinator.MinRecordsPerCommit = b.Rate / l
		}
	}
	if pt.Crash != nil && pt.Crash.LossMax > 0 {
		rec.Note = fmt.Sprintf("loses up to %d records per crash instead of replaying them", pt.Crash.LossMax)
	}
	return rec
}
