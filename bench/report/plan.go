package report

import (
	"fmt"
	"strings"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/plot"
)

// PlanSettings is what the capacity plans are for, and which of it the
// user did not give.
type PlanSettings struct {
	Budget model.Budget
	// DefaultBudget: no duplicate budget was given, so Budget.DupRecords is
	// model.DefaultDupRecords.
	DefaultBudget bool
	// DefaultRate: no rate was given, so each panel plans for its own
	// model.Panel.DefaultRate and Budget.Rate is ignored.
	DefaultRate bool
}

// DefaultPlan is the plan a report makes when no flag says otherwise.
func DefaultPlan() PlanSettings {
	return PlanSettings{Budget: model.Budget{DupRecords: model.DefaultDupRecords}, DefaultBudget: true, DefaultRate: true}
}

// text says what the plans are for, marks the defaults and names the
// flag that changes each.
func (ps PlanSettings) text() string {
	b := ps.Budget
	var parts []string
	if b.DupRecords > 0 {
		parts = append(parts, fmt.Sprintf("at most %s records replayed per crash", plot.Human(b.DupRecords)))
	}
	if b.DupSeconds > 0 {
		parts = append(parts, fmt.Sprintf("at most %s of traffic replayed per crash", plot.Seconds(b.DupSeconds)))
	}
	budget := strings.Join(parts, " and ")
	if ps.DefaultBudget {
		budget += " (the default; --dup-budget-records N or --dup-budget-seconds S sets another)"
	}
	rate := "each panel's rate below (the default: half its measured ceiling; --rate R sets one)"
	switch {
	case !ps.DefaultRate && b.Rate > 0:
		rate = fmt.Sprintf("a required rate of %s records/s", plot.Human(b.Rate))
	case !ps.DefaultRate:
		rate = "no rate (--rate 0: consumers are not planned)"
	}
	coord := "coordinator capacity not measured (run commitbench capacity, or give --coordinator-commits-per-sec)"
	if b.CoordinatorCommitsPerSec > 0 {
		coord = fmt.Sprintf("a coordinator that sustains %s commits/s", plot.Human(b.CoordinatorCommitsPerSec))
	}
	return budget + "; " + rate + "; " + coord
}

// planTable is the capacity plan for one panel: per strategy and kind of
// interval, the largest measured interval within the duplicate budget,
// the consumers the rate needs there, the commits the group sends the
// coordinator, and which constraint binds.
func planTable(p model.Panel, ps PlanSettings) (*Table, error) {
	b := ps.Budget
	rateNote := ""
	if ps.DefaultRate {
		var basis string
		b.Rate, basis = p.DefaultRate()
		rateNote = fmt.Sprintf("Rate: %s records/s, %s (a default; --rate R plans for another)", plot.Human(b.Rate), basis)
		if b.Rate <= 0 {
			rateNote = "Rate: none — nothing was measured to take a default from; --rate R plans for one."
		}
	}
	recs, err := p.Plan(b)
	if err != nil {
		return nil, err
	}
	caption := "Capacity plan: the largest measured interval whose worst replay per crash fits the budget, and what binds there"
	if rateNote != "" {
		caption += ". " + rateNote
	}
	t := &Table{Caption: caption,
		Head: []string{"strategy", "kind", "interval", "replay mean / max per crash (expected)", "budget (records)", "interval set by",
			"throughput per consumer", "consumers (≥ partitions)", "group commits/s", "coordinator", "note"}}
	for _, r := range recs {
		t.Rows = append(t.Rows, planRow(r, b))
	}
	if b.CoordinatorCommitsPerSec <= 0 {
		t.Notes = append(t.Notes, "Coordinator capacity not measured (run commitbench capacity, then give --coordinator-commits-per-sec): the group's commits/s are shown, not judged.")
	}
	t.Notes = append(t.Notes,
		"Expected replay: the measured crash phase where it ran, else the model — mean N/2, at most N (count) or r·T at the consumer's full measured rate (time), the rate it runs at while catching up after a crash; a strategy's claimed bound is used when it is larger.",
		"Consumers: ⌈rate ÷ one consumer's measured throughput at that interval⌉; the topic needs at least as many partitions. More than one means throughput binds: one consumer cannot sustain the rate at that interval.",
		"Group commits/s: every consumer at its share of the rate commits every N records and at least every T; the group coordinator takes them all.")
	if b.Rate <= 0 {
		t.Notes = append(t.Notes, "No rate: consumers are not planned, commits/s are one consumer's at full speed, and a budget in seconds is taken at each consumer's own measured rate.")
	}
	return t, nil
}

func planRow(r model.Recommendation, b model.Budget) []string {
	row := []string{r.Strategy, string(r.Axis), "none fits", "–", plot.Human(r.BudgetRecords), "replay budget", "–", "–", "–", "–", r.Note}
	pt := r.Point
	if pt == nil {
		return row
	}
	row[2] = pt.Label()
	row[3] = fmt.Sprintf("%s / %s", plot.Human(pt.ExpectedReplay()), plot.Human(pt.ExpectedMaxReplay()))
	row[5] = "measured range: the largest measured interval fits"
	if next := r.Exceeds; next != nil {
		row[5] = fmt.Sprintf("replay budget: %s may replay %s", next.Label(), plot.Human(next.ExpectedMaxReplay()))
	}
	row[6] = plot.Human(pt.Throughput.Mean) + "/s"
	switch {
	case r.ThroughputBinds():
		row[7] = fmt.Sprintf("%d — throughput binds", r.Consumers)
	case r.Consumers == 1:
		row[7] = fmt.Sprintf("1 (%.1f× headroom)", pt.Throughput.Mean/b.Rate)
	}
	row[8] = plot.Human(r.GroupCommitsPerSec)
	row[9] = "not measured"
	if c := r.Coordinator; c.Measured {
		row[9] = fmt.Sprintf("%.0f %% of its %s/s", 100*r.GroupCommitsPerSec/c.LimitCommitsPerSec, plot.Human(c.LimitCommitsPerSec))
		if c.Binds {
			row[9] = fmt.Sprintf("binds: over its %s/s", plot.Human(c.LimitCommitsPerSec))
			if c.MinRecordsPerCommit > 0 {
				row[9] += fmt.Sprintf("; needs ≥ %s records per commit", plot.Human(c.MinRecordsPerCommit))
				if c.MinRecordsPerCommit > r.BudgetRecords {
					row[9] += ", beyond the replay budget: raise the budget or split the load over more groups"
				}
			}
		}
	}
	return row
}
