package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/summary"
)

// scenarioMeasure is one figure of the scenario phases: a per-event figure
// against the commit interval, one curve per group set-up.
type scenarioMeasure struct {
	name, title, what string
	value             func(*summary.Scenario) summary.Stat
	label             func(float64) string
}

var scenarioMeasures = []scenarioMeasure{
	{name: "duplicates-per-event", title: "Duplicates per event against commit interval", what: "duplicate effects per event (mean; n events)",
		value: func(s *summary.Scenario) summary.Stat { return s.DupPerEvent }, label: Human},
	{name: "rebalance-per-event", title: "Rebalance per event against commit interval", what: "event start → every partition processing again (ms, mean)",
		value: func(s *summary.Scenario) summary.Stat { return s.RebalanceMs }, label: Human},
}

// scenarioFigure draws m over the cells that ran a scenario phase; nil
// when none did or nothing is above zero (the groups at zero are named).
func scenarioFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette, m scenarioMeasure) (*Figure, error) {
	ss := bySeries(pts, func(pt model.CurvePoint) bool { return pt.Scenario != nil })
	if len(ss) == 0 {
		return nil, nil
	}
	f := newFigure(m.name+"-"+string(a), fmt.Sprintf("%s (%s intervals)", m.title, a), p, "commit interval ("+a.Unit()+")", m.what)
	ylo, yhi := math.Inf(1), 0.0
	var zero []string
	for _, s := range ss {
		var xys plotter.XYs
		n := 0
		for _, pt := range s.pts {
			v := m.value(pt.Scenario)
			n += v.N
			if v.N > 0 && v.Mean > 0 {
				xys = append(xys, plotter.XY{X: pt.X, Y: v.Mean})
				ylo, yhi = min(ylo, v.Mean), max(yhi, v.Mean)
			}
		}
		if len(xys) == 0 {
			zero = append(zero, s.name)
			continue
		}
		if err := addSeries(&f, pal, s.name, xys, nil, fmt.Sprintf("%s (n=%d)", s.name, n)); err != nil {
			return nil, err
		}
	}
	if yhi == 0 {
		return nil, nil
	}
	addNames(&f, "0 at every interval:", zero)
	lo, hi := xRange(pts)
	intervalAxis(&f, a, lo, hi)
	logAxis(&f.plot.Y, &f.yLabel, ylo, yhi, m.label)
	return &f, nil
}
