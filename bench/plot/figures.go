package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/summary"
)

// figureFunc draws one kind of figure for the points on one axis; it
// returns nil when the data has nothing for it.
type figureFunc func(model.Panel, model.Axis, []model.CurvePoint, palette) (*Figure, error)

// panelFigures draws one panel: each interval figure per axis, the
// broker's load per axis, the claim map, then a latency distribution per
// strategy. The
// notes say which figures the data could not support, and why.
func panelFigures(p model.Panel) ([]Figure, []string, error) {
	pal := newPalette(p)
	var figs []Figure
	var notes []string
	for _, a := range model.Axes {
		pts := p.OnAxis(a)
		if len(pts) == 0 {
			continue
		}
		for _, fn := range []figureFunc{throughputFigure, latencyFigure, replayFigure, lossFigure, frontierFigure} {
			f, err := fn(p, a, pts, pal)
			if err != nil {
				return nil, nil, err
			}
			if f != nil {
				figs = append(figs, *f)
			}
		}
		for _, m := range scenarioMeasures {
			f, err := scenarioFigure(p, a, pts, pal, m)
			if err != nil {
				return nil, nil, fmt.Errorf("drawing %s: %w", m.title, err)
			}
			if f != nil {
				figs = append(figs, *f)
			}
		}
		for _, m := range loadMeasures {
			f, note, err := loadFigure(p, a, pts, pal, m)
			if err != nil {
				return nil, nil, fmt.Errorf("drawing %s: %w", m.title, err)
			}
			if f != nil {
				figs = append(figs, *f)
			}
			if note != "" {
				notes = append(notes, note)
			}
		}
	}
	cm, err := claimMapFigure(p)
	if err != nil {
		return nil, nil, fmt.Errorf("drawing the claim map: %w", err)
	}
	figs = append(figs, *cm)
	for _, s := range p.Strategies() {
		f, err := distributionFigure(p, s)
		if err != nil {
			return nil, nil, err
		}
		if f != nil {
			figs = append(figs, *f)
		}
	}
	return figs, notes, nil
}

// series is one line: a series' points along the axis.
type series struct {
	name string
	pts  []model.CurvePoint
}

// bySeries splits points into series in order of appearance, each sorted
// by interval, keeping those for which keep is true.
func bySeries(pts []model.CurvePoint, keep func(model.CurvePoint) bool) []series {
	var out []series
	idx := map[string]int{}
	for _, pt := range pts {
		if !keep(pt) {
			continue
		}
		i, ok := idx[pt.Series]
		if !ok {
			i = len(out)
			idx[pt.Series] = i
			out = append(out, series{name: pt.Series})
		}
		out[i].pts = append(out[i].pts, pt)
	}
	for i := range out {
		sortPoints(out[i].pts, func(pt model.CurvePoint) float64 { return pt.X })
	}
	return out
}

func sortPoints(pts []model.CurvePoint, key func(model.CurvePoint) float64) {
	for i := 1; i < len(pts); i++ { // insertion sort: a handful of points
		for j := i; j > 0 && key(pts[j]) < key(pts[j-1]); j-- {
			pts[j], pts[j-1] = pts[j-1], pts[j]
		}
	}
}

func xRange(pts []model.CurvePoint) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, pt := range pts {
		lo, hi = min(lo, pt.X), max(hi, pt.X)
	}
	return lo, hi
}

// addSeries draws a line with markers and adds it to the legend.
func addSeries(f *Figure, pal palette, name string, xys plotter.XYs, dashes []vg.Length, legend string) error {
	line, scatter, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("drawing %s: %w", name, err)
	}
	line.LineStyle = pal.line(name, dashes...)
	scatter.GlyphStyle = pal.glyph(name)
	f.plot.Add(line, scatter)
	if legend != "" {
		f.legend.Add(legend, line, scatter)
	}
	return nil
}

// errXYs are points with asymmetric error bars.
type errXYs struct {
	plotter.XYs
	plotter.YErrors
}

func throughputFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette) (*Figure, error) {
	f := newFigure("throughput-"+string(a), fmt.Sprintf("Throughput against commit interval (%s intervals); bars: min–max of repetitions", a),
		p, "commit interval ("+a.Unit()+")", "throughput (records/s)")
	lo, hi := xRange(pts)
	intervalAxis(&f, a, lo, hi)
	f.plot.Y.Tick.Marker = humanTicks()

	var far plotter.XYs
	for _, s := range bySeries(pts, func(model.CurvePoint) bool { return true }) {
		var e errXYs
		for _, pt := range s.pts {
			t := pt.Throughput
			e.XYs = append(e.XYs, plotter.XY{X: pt.X, Y: t.Mean})
			e.YErrors = append(e.YErrors, struct{ Low, High float64 }{t.Mean - t.Min, t.Max - t.Mean})
			if pt.FarOff() {
				far = append(far, plotter.XY{X: pt.X, Y: t.Mean})
			}
		}
		if err := addSeries(&f, pal, s.name, e.XYs, nil, s.name); err != nil {
			return nil, err
		}
		bars, err := plotter.NewYErrorBars(e)
		if err != nil {
			return nil, fmt.Errorf("drawing %s error bars: %w", s.name, err)
		}
		bars.LineStyle = pal.line(s.name)
		bars.LineStyle.Width = vg.Points(1)
		f.plot.Add(bars)
	}

	// The fitted model per strategy, over the whole axis.
	fitted := false
	for _, s := range p.Strategies() {
		fit, ok := p.Fits[s]
		if !ok || !hasStrategy(pts, s) {
			continue
		}
		curve := fit.Throughput
		if a == model.AxisTime {
			curve = fit.ThroughputEvery
		}
		var xys plotter.XYs
		for i := 0; i <= 80; i++ {
			x := f.plot.X.Min * math.Pow(f.plot.X.Max/f.plot.X.Min, float64(i)/80)
			if y := curve(x); y > 0 {
				xys = append(xys, plotter.XY{X: x, Y: y})
			}
		}
		if len(xys) < 2 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("drawing the fit of %s: %w", s, err)
		}
		line.LineStyle = pal.line(s, dotted...)
		line.LineStyle.Width = vg.Points(1)
		f.plot.Add(line)
		fitted = true
	}
	if fitted {
		f.legend.Add("fit 1/(p + c/N), per strategy", legendLine(gray, dotted))
	}
	if len(far) > 0 {
		rings, err := plotter.NewScatter(far)
		if err != nil {
			return nil, fmt.Errorf("marking points off their fit: %w", err)
		}
		rings.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 220, A: 255}, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
		f.plot.Add(rings)
		f.legend.Add(fmt.Sprintf("more than %.0f%% off its fit", 100*model.FarOff), rings)
	}
	// The ceiling spans the axis; a Function does not widen the data
	// range, so the y range is stretched to show it.
	for _, c := range p.Ceiling {
		v := c.Throughput.Mean
		fn := plotter.NewFunction(func(float64) float64 { return v })
		fn.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1.5), Dashes: dashed}
		f.plot.Add(fn)
		f.legend.Add(fmt.Sprintf("%s (never commits): %s/s", c.Series, Human(v)), fn)
		f.plot.Y.Max = max(f.plot.Y.Max, v*1.02)
	}
	return &f, nil
}

func hasStrategy(pts []model.CurvePoint, s string) bool {
	for _, pt := range pts {
		if pt.Strategy == s {
			return true
		}
	}
	return false
}

// addNames lists names in the legend under a heading, one a line, so that
// a long list does not widen the legend.
func addNames(f *Figure, heading string, names []string) {
	if len(names) == 0 {
		return
	}
	f.legend.Add(heading)
	for _, n := range names {
		f.legend.Add("  " + n)
	}
}

// legendLine is a legend thumbnail for a reference line.
func legendLine(c color.Color, dashes []vg.Length) *plotter.Line {
	return &plotter.Line{LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1.5), Dashes: dashes}}
}

// percentiles are the latency percentiles drawn per strategy.
var percentiles = []struct {
	name   string
	q      summary.Quantile
	dashes []vg.Length
}{
	{"p50", summary.P50, nil},
	{"p99", summary.P99, dashed},
	{"p99.9", summary.P999, dotted},
}

func latencyFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette) (*Figure, error) {
	ss := bySeries(pts, func(pt model.CurvePoint) bool { return pt.Commit.P50Us > 0 })
	if len(ss) == 0 {
		return nil, nil
	}
	f := newFigure("commit-latency-"+string(a), fmt.Sprintf("Commit latency percentiles against commit interval (%s intervals)", a),
		p, "commit interval ("+a.Unit()+")", "commit latency (µs)")
	lo, hi := xRange(pts)
	intervalAxis(&f, a, lo, hi)
	ylo, yhi := math.Inf(1), 0.0
	thin := false // a tail percentile left out for want of samples
	for _, s := range ss {
		for i, pc := range percentiles {
			var xys plotter.XYs
			for _, pt := range s.pts {
				v, ok := pc.q.Value(pt.Commit)
				if !ok {
					thin = thin || pt.Commit.Count > 0
					continue
				}
				if v > 0 {
					xys = append(xys, plotter.XY{X: pt.X, Y: v})
					ylo, yhi = min(ylo, v), max(yhi, v)
				}
			}
			if len(xys) == 0 {
				continue
			}
			legend := ""
			if i == 0 {
				legend = s.name
			}
			if err := addSeries(&f, pal, s.name, xys, pc.dashes, legend); err != nil {
				return nil, err
			}
		}
	}
	for _, pc := range percentiles {
		f.legend.Add(pc.name, legendLine(gray, pc.dashes))
	}
	if thin {
		f.legend.Add(fmt.Sprintf("p99 drawn from %d commits, p99.9 from %d:", summary.MinSamplesP99, summary.MinSamplesP999))
		f.legend.Add("  points with fewer are left out")
	}
	logAxis(&f.plot.Y, &f.yLabel, ylo, yhi, Human)
	return &f, nil
}

// crashMeasure is what a per-crash figure shows: replay or loss.
type crashMeasure struct {
	name, what      string
	mean, max       func(*summary.Crashes) float64
	bound           func(*summary.Crashes) *float64
	noneLegendLabel string
}

var (
	replayMeasure = crashMeasure{
		name: "replay", what: "replayed records per crash",
		mean:            func(c *summary.Crashes) float64 { return c.ReplayMean },
		max:             func(c *summary.Crashes) float64 { return float64(c.ReplayMax) },
		bound:           func(c *summary.Crashes) *float64 { return asFloat(c.ReplayBound) },
		noneLegendLabel: "no replay",
	}
	lossMeasure = crashMeasure{
		name: "loss", what: "lost records per crash",
		mean:            func(c *summary.Crashes) float64 { return c.LossMean },
		max:             func(c *summary.Crashes) float64 { return float64(c.LossMax) },
		bound:           func(c *summary.Crashes) *float64 { return asFloat(c.LossBound) },
		noneLegendLabel: "no loss",
	}
)

func asFloat(b *int64) *float64 {
	if b == nil {
		return nil
	}
	v := float64(*b)
	return &v
}

func replayFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette) (*Figure, error) {
	return crashFigure(p, a, pts, pal, replayMeasure)
}

func lossFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette) (*Figure, error) {
	return crashFigure(p, a, pts, pal, lossMeasure)
}

// crashFigure draws mean and max per crash on log–log axes, the claimed
// bounds, and names the series that never replayed (or lost): zero has no
// place on a log axis.
func crashFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette, m crashMeasure) (*Figure, error) {
	ss := bySeries(pts, func(pt model.CurvePoint) bool { return pt.Crash != nil && pt.Crash.Kills > 0 })
	f := newFigure(m.name+"-"+string(a), fmt.Sprintf("%s per crash against commit interval (%s intervals)", strings.ToUpper(m.name[:1])+m.name[1:], a),
		p, "commit interval ("+a.Unit()+")", m.what)
	ylo, yhi := math.Inf(1), 0.0
	var zero []string
	var bounds []plotter.XYs
	var claimants []string // strategies that claim a bound
	for _, s := range ss {
		var means, maxes, bxys plotter.XYs
		for _, pt := range s.pts {
			if v := m.mean(pt.Crash); v > 0 {
				means = append(means, plotter.XY{X: pt.X, Y: v})
				ylo = min(ylo, v)
			}
			if v := m.max(pt.Crash); v > 0 {
				maxes = append(maxes, plotter.XY{X: pt.X, Y: v})
				yhi = max(yhi, v)
			}
			if b := m.bound(pt.Crash); b != nil && *b > 0 {
				bxys = append(bxys, plotter.XY{X: pt.X, Y: *b})
				ylo, yhi = min(ylo, *b), max(yhi, *b)
			}
		}
		if len(bxys) > 0 {
			bounds = append(bounds, bxys)
			if st := s.pts[0].Strategy; !slices.Contains(claimants, st) {
				claimants = append(claimants, st)
			}
		}
		if len(means) == 0 && len(maxes) == 0 {
			zero = append(zero, s.name)
			continue
		}
		if err := addSeries(&f, pal, s.name, means, nil, s.name); err != nil {
			return nil, err
		}
		if err := addSeries(&f, pal, s.name, maxes, dashed, ""); err != nil {
			return nil, err
		}
	}
	if yhi == 0 {
		return nil, nil // nothing positive to draw
	}
	f.legend.Add("mean", legendLine(gray, nil))
	f.legend.Add("max", legendLine(gray, dashed))
	for i, b := range bounds {
		line, err := plotter.NewLine(b)
		if err != nil {
			return nil, fmt.Errorf("drawing a %s bound: %w", m.name, err)
		}
		line.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1), Dashes: dotted}
		f.plot.Add(line)
		if i == 0 {
			f.legend.Add("claimed bound: "+strings.Join(claimants, ", "), line)
		}
	}
	addNames(&f, m.noneLegendLabel+":", zero)
	lo, hi := xRange(pts)
	intervalAxis(&f, a, lo, hi)
	logAxis(&f.plot.Y, &f.yLabel, ylo, yhi, Human)
	return &f, nil
}

func frontierFigure(p model.Panel, a model.Axis, pts []model.CurvePoint, pal palette) (*Figure, error) {
	f := newFigure("frontier-"+string(a), fmt.Sprintf("Throughput against expected replay (%s intervals); points labelled with their interval", a),
		p, "expected replay per crash (records; measured mean, else N/2)", "throughput (records/s)")
	f.plot.Y.Tick.Marker = humanTicks()
	xlo, xhi := math.Inf(1), 0.0
	var zero []string
	for _, s := range bySeries(pts, func(model.CurvePoint) bool { return true }) {
		var xys plotter.XYs
		var labels []string
		sortPoints(s.pts, model.CurvePoint.ExpectedReplay)
		for _, pt := range s.pts {
			if x := pt.ExpectedReplay(); x > 0 {
				xys = append(xys, plotter.XY{X: x, Y: pt.Throughput.Mean})
				labels = append(labels, pt.Label())
				xlo, xhi = min(xlo, x), max(xhi, x)
			}
		}
		if len(xys) == 0 {
			zero = append(zero, s.name)
			continue
		}
		if err := addSeries(&f, pal, s.name, xys, nil, s.name); err != nil {
			return nil, err
		}
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("labelling %s: %w", s.name, err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Color = pal.color(s.name)
			l.TextStyle[i].Font.Size = vg.Points(8)
		}
		l.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
		f.plot.Add(l)
	}
	if xhi == 0 {
		return nil, nil
	}
	addNames(&f, "not shown, no replay:", zero)
	logAxis(&f.plot.X, &f.xLabel, xlo, xhi, Human)
	return &f, nil
}

// distributionFigure draws one strategy's commit-latency distribution per
// interval, HdrHistogram style: latency against 1/(1−p), repetitions merged.
func distributionFigure(p model.Panel, strategy string) (*Figure, error) {
	f := newFigure("latency-distribution-"+slug(strategy), "Commit latency distribution: "+strategy+" (repetitions merged)",
		p, "percentile", "commit latency (µs)")
	f.plot.Y.Tick.Marker = humanTicks()
	var xhi float64
	i := 0
	for _, pt := range p.Points {
		if pt.Strategy != strategy {
			continue
		}
		xys, err := percentileCurve(pt)
		if err != nil {
			return nil, err
		}
		if len(xys) == 0 {
			continue
		}
		xhi = max(xhi, xys[len(xys)-1].X)
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("drawing the latency distribution of %s: %w", pt.Key, err)
		}
		line.LineStyle = draw.LineStyle{Color: plotutil.Color(i), Width: vg.Points(1.5), Dashes: kindDashes[pt.Interval.Kind()]}
		f.plot.Add(line)
		f.legend.Add(pt.Label(), line)
		i++
	}
	if i == 0 {
		return nil, nil
	}
	f.plot.X.Scale = gplot.LogScale{}
	f.plot.X.Tick.Marker = percentileTicks()
	f.plot.X.Min, f.plot.X.Max = 1, max(xhi, 10)
	f.xLabel = "percentile (log scale of 1/(1−p))"
	f.plot.Y.Min = 0
	return &f, nil
}

// kindDashes tells interval kinds apart where colours run out.
var kindDashes = map[string][]vg.Length{"time": dashed, "hybrid": dotted}

// percentileCurve is a point's merged histogram as (1/(1−q), latency µs),
// twenty steps per decade up to the last recorded commit.
func percentileCurve(pt model.CurvePoint) (plotter.XYs, error) {
	h := metrics.NewHistogram()
	for _, r := range pt.Reps {
		rh, err := metrics.Decode(r.Throughput.CommitLatencyHist)
		if err != nil {
			return nil, fmt.Errorf("%s repetition %d: %w", r.Key, r.Repetition, err)
		}
		h.Merge(rh)
	}
	total := float64(h.TotalCount())
	if total == 0 {
		return nil, nil
	}
	var xys plotter.XYs
	for k := 0; ; k++ {
		x := math.Pow(10, float64(k)/20)
		if x > total {
			break
		}
		q := 1 - 1/x
		xys = append(xys, plotter.XY{X: x, Y: float64(h.ValueAtQuantile(100*q)) / 1e3})
	}
	return append(xys, plotter.XY{X: total, Y: float64(h.Max()) / 1e3}), nil
}
