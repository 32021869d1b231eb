package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/summary"
)

// loadMeasure is one figure of what commits cost the broker.
type loadMeasure struct {
	name, title, unit string
	get               func(model.CurvePoint) summary.Stat
	// source says where the figure comes from on the panel's broker,
	// for the subtitle.
	source func(model.Panel) string
}

var loadMeasures = []loadMeasure{
	{name: "broker-cpu-per-commit", title: "Broker CPU per 1,000 commits", unit: "broker CPU per 1,000 commits (s)",
		get:    func(pt model.CurvePoint) summary.Stat { return pt.BrokerCPUPer1kCommits },
		source: func(p model.Panel) string { return "CPU time of " + p.Broker.CPUSource() + " (fetches too) ÷ commits" }},
	{name: "offsets-bytes-per-commit", title: "__consumer_offsets bytes per commit", unit: "__consumer_offsets bytes per commit",
		get:    func(pt model.CurvePoint) summary.Stat { return pt.OffsetsBytesPerCommit },
		source: func(model.Panel) string { return "bytes the throughput phase appended ÷ commits" }},
}

// loadFigure draws one broker-load measure against the commit interval:
// the mean over the repetitions that measured it, min–max bars, and the
// sample count beside a point that rests on fewer than
// summary.MinRepetitions. Without a single sample it draws nothing and
// says why, so a broker that cannot tell never shows an empty figure.
func loadFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette, m loadMeasure) (*Figure, string, error) {
	// Zero has no place on a log axis; a broker that appended nothing per
	// commit has nothing to show either.
	ss := bySeries(pts, func(pt model.CurvePoint) bool { s := m.get(pt); return s.N > 0 && s.Min > 0 })
	if len(ss) == 0 {
		return nil, fmt.Sprintf("%s (%s intervals): not drawn, this %s broker measured none (N = 0 over %d cells)",
			m.title, a, p.Broker.Kind, len(pts)), nil
	}
	f := newFigure(m.name+"-"+string(a), fmt.Sprintf("%s against commit interval (%s intervals); bars: min–max\n%s", m.title, a, m.source(p)),
		p, "commit interval ("+a.Unit()+")", m.unit)
	ylo, yhi := math.Inf(1), 0.0
	var few []plotter.XY
	var fewLabels []string
	for _, s := range ss {
		var e errXYs
		for _, pt := range s.pts {
			st := m.get(pt)
			e.XYs = append(e.XYs, plotter.XY{X: pt.X, Y: st.Mean})
			e.YErrors = append(e.YErrors, struct{ Low, High float64 }{st.Mean - st.Min, st.Max - st.Mean})
			ylo, yhi = min(ylo, st.Min), max(yhi, st.Max)
			if st.N < summary.MinRepetitions {
				few = append(few, plotter.XY{X: pt.X, Y: st.Mean})
				fewLabels = append(fewLabels, fmt.Sprintf("n=%d", st.N))
			}
		}
		if err := addSeries(&f, pal, s.name, e.XYs, nil, s.name); err != nil {
			return nil, "", err
		}
		bars, err := plotter.NewYErrorBars(e)
		if err != nil {
			return nil, "", fmt.Errorf("drawing %s error bars: %w", s.name, err)
		}
		bars.LineStyle = pal.line(s.name)
		bars.LineStyle.Width = vg.Points(1)
		f.plot.Add(bars)
	}
	if len(few) > 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: few, Labels: fewLabels})
		if err != nil {
			return nil, "", fmt.Errorf("labelling sample counts: %w", err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Size = vg.Points(9)
		}
		l.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
		f.plot.Add(l)
		f.legend.Add(fmt.Sprintf("n=…: fewer than %d repetitions measured it", summary.MinRepetitions))
	}
	lo, hi := xRange(pts)
	intervalAxis(&f, a, lo, hi)
	logAxis(&f.plot.Y, &f.yLabel, ylo, yhi, Human)
	return &f, "", nil
}
