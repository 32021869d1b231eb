package plot

import (
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/commitbench/commitbench/bench/model"
)

// logAxis puts a on a log scale over [lo, hi] with a margin, labelling the
// ticks with label; *axisLabel says so.
func logAxis(a *gplot.Axis, axisLabel *string, lo, hi float64, label func(float64) string) {
	a.Scale = gplot.LogScale{}
	a.Tick.Marker = logTicks(label)
	a.Min, a.Max = lo/1.6, hi*1.6
	*axisLabel += " (log scale)"
}

// logTicks marks every 1–9×10^k; it labels the powers of ten, 2× and 5×
// too when the axis spans less than two and a half decades, and every
// mark when it spans less than one, so that a narrow axis can be read.
func logTicks(label func(float64) string) gplot.Ticker {
	return gplot.TickerFunc(func(lo, hi float64) []gplot.Tick {
		few, narrow := math.Log10(hi/lo) < 2.5, math.Log10(hi/lo) < 1
		var ts []gplot.Tick
		for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
			for m := 1.0; m < 10; m++ {
				v := m * math.Pow(10, e)
				if v < lo*0.9999 || v > hi*1.0001 {
					continue
				}
				t := gplot.Tick{Value: v}
				if m == 1 || few && (m == 2 || m == 5) || narrow {
					t.Label = label(v)
				}
				ts = append(ts, t)
			}
		}
		return ts
	})
}

// humanTicks is the default linear ticker with labels such as 600k.
func humanTicks() gplot.Ticker {
	return gplot.TickerFunc(func(lo, hi float64) []gplot.Tick {
		ts := gplot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = Human(ts[i].Value)
			}
		}
		return ts
	})
}

// Human prints a number with a k/M/G suffix: 600k, 1.5M.
func Human(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 4, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// Seconds prints a time interval in seconds the way workloads write it: 10ms, 5s, 1m.
func Seconds(v float64) string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	switch {
	case v >= 60:
		return g(v/60) + "m"
	case v >= 1:
		return g(v) + "s"
	case v >= 1e-3:
		return g(v*1e3) + "ms"
	}
	return g(v*1e6) + "µs"
}

// intervalAxis labels the x axis for a commit interval on axis a.
func intervalAxis(f *Figure, a model.Axis, lo, hi float64) {
	label := Human
	if a == model.AxisTime {
		label = Seconds
	}
	logAxis(&f.plot.X, &f.xLabel, lo, hi, label)
}

// percentileTicks labels 1/(1-q) as the percentile q: 90%, 99%, 99.9%.
func percentileTicks() gplot.Ticker {
	return logTicksFunc(func(v float64) string {
		return strconv.FormatFloat(100*(1-1/v), 'f', -1, 64) + "%"
	})
}

// logTicksFunc labels powers of ten only.
func logTicksFunc(label func(float64) string) gplot.Ticker {
	return gplot.TickerFunc(func(lo, hi float64) []gplot.Tick {
		ts := logTicks(label).Ticks(lo, hi)
		for i := range ts {
			if e := math.Log10(ts[i].Value); math.Abs(e-math.Round(e)) > 1e-9 {
				ts[i].Label = ""
			}
		}
		return ts
	})
}

func newGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	return g
}

// palette gives every series of a panel one colour and glyph in all of
// its figures.
type palette map[string]int

func newPalette(p model.Panel) palette {
	pal := palette{}
	for i, s := range p.Series() {
		pal[s] = i
	}
	return pal
}

func (pal palette) color(series string) color.Color { return plotutil.Color(pal[series]) }

func (pal palette) glyph(series string) draw.GlyphStyle {
	return draw.GlyphStyle{Color: pal.color(series), Radius: vg.Points(3), Shape: plotutil.Shape(pal[series])}
}

func (pal palette) line(series string, dashes ...vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: pal.color(series), Width: vg.Points(1.5), Dashes: dashes}
}

// Dash patterns.
var (
	dashed = []vg.Length{vg.Points(6), vg.Points(3)}
	dotted = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
)

// gray is for reference lines (ceilings, bounds, fits) in legends.
var gray = color.Gray{Y: 90}
