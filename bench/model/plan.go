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
	// Consumers is how many consumers (and so at least how many
	// partitions) Rate needs at Point's per-consumer throughput; 0 without
	// a rate.
	Consumers int
	// Note explains a missing or qualified recommendation.
	Note string
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
		rec.Note = fmt.Sprintf("no measured interval fits: the smallest, %s, may replay %.0f records per crash", first.Label(), first.ExpectedMaxReplay())
		return rec
	}
	pt := rec.Point
	rec.BudgetRecords = b.records(pt.Throughput.Mean)
	if b.Rate > 0 && pt.Throughput.Mean > 0 {
		rec.Consumers = int(math.Ceil(b.Rate / pt.Throughput.Mean))
	}
	if pt.Crash != nil && pt.Crash.LossMax > 0 {
		rec.Note = fmt.Sprintf("loses up to %d records per crash instead of replaying them", pt.Crash.LossMax)
	}
	return rec
}
