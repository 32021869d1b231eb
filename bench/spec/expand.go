package spec

import (
	"fmt"

	"github.com/commitbench/commitbench/bench/strategy"
)

// Point is one cell of the sweep: a strategy at one commit interval, one
// repetition of it. Key names the cell without the repetition, so repeated
// measurements of the same cell group together.
type Point struct {
	// Index is the point's position in the plan, from 0.
	Index int
	// Key identifies the cell: workload/strategy/interval.
	Key string
	// Strategy is the strategy's name.
	Strategy string
	// Interval is the commit interval (zero for strategies that never commit).
	Interval Interval
	// Repetition counts from 1.
	Repetition int
	// Group is the consumer-group set-up of the point's scenario phase
	// (nil: a crash phase, if the workload plans one).
	Group *Group
}

// Skip records a strategy × interval pair the plan left out, and why.
type Skip struct {
	Strategy string
	Interval Interval
	Reason   string
}

// Plan expands the workload into points. Repetitions are the outer loop, so
// slow drift on the machine spreads over every cell instead of landing on
// one. Pairs a strategy cannot run (autocommit by record count, say) are
// returned as skips rather than silently dropped.
func (w *Workload) Plan() ([]Point, []Skip) {
	type cell struct {
		strategy string
		interval Interval
	}
	var cells []cell
	var skips []Skip
	for _, name := range w.Strategies {
		info, err := strategy.Lookup(name)
		if err != nil {
			continue // Validate reports it
		}
		if !info.TakesInterval() {
			cells = append(cells, cell{strategy: name})
			continue
		}
		for _, iv := range w.Intervals {
			if ok, why := info.Accepts(iv.Records, int64(iv.Every)); !ok {
				skips = append(skips, Skip{Strategy: name, Interval: iv, Reason: why})
				continue
			}
			cells = append(cells, cell{strategy: name, interval: iv})
		}
	}
	// Without groups there is one variant, keyed as before.
	groups := []*Group{nil}
	if len(w.Groups) > 0 {
		groups = groups[:0]
		for i := range w.Groups {
			groups = append(groups, &w.Groups[i])
		}
	}
	var points []Point
	for rep := 1; rep <= w.Repetitions; rep++ {
		for _, g := range groups {
			for _, c := range cells {
				key := fmt.Sprintf("%s/%s/%s", w.Name, c.strategy, c.interval)
				if g != nil {
					key += "/" + g.Name
				}
				points = append(points, Point{
					Index:      len(points),
					Key:        key,
					Strategy:   c.strategy,
					Interval:   c.interval,
					Repetition: rep,
					Group:      g,
				})
			}
		}
	}
	return points, skips
}
