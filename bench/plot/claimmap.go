package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/commitbench/commitbench/bench/model"
)

// gainBins colour the claim map: a gain in [lo, next lo) takes the bin's
// colour (a sequential blue scale, light for little gain). The claim's
// own band, 10–30 %, is one bin and is outlined besides.
var gainBins = []struct {
	lo    float64
	label string
	color color.Color
}{
	{math.Inf(-1), "gain < 5 %", color.RGBA{R: 0xf7, G: 0xfb, B: 0xff, A: 0xff}},
	{0.05, "5–10 %", color.RGBA{R: 0xde, G: 0xeb, B: 0xf7, A: 0xff}},
	{model.ClaimGainLow, "10–30 % (the claim)", color.RGBA{R: 0xff, G: 0xe0, B: 0x8a, A: 0xff}},
	{model.ClaimGainHigh, "30–100 %", color.RGBA{R: 0x9e, G: 0xca, B: 0xe1, A: 0xff}},
	{1, "100–300 %", color.RGBA{R: 0x6b, G: 0xae, B: 0xd6, A: 0xff}},
	{3, "300–1,000 %", color.RGBA{R: 0x31, G: 0x82, B: 0xbd, A: 0xff}},
	{10, "≥ 1,000 %", color.RGBA{R: 0x08, G: 0x51, B: 0x9c, A: 0xff}},
}

func gainColor(g float64) color.Color {
	c := gainBins[0].color
	for _, b := range gainBins {
		if g >= b.lo {
			c = b.color
		}
	}
	return c
}

// claimCells draws the claim map's cells, each filled with its gain's
// colour; its corners go through the axes' scales, so log axes place
// them exactly.
type claimCells struct{ m model.ClaimMap }

// Plot implements gplot.Plotter.
func (cc claimCells) Plot(c draw.Canvas, plt *gplot.Plot) {
	tx, ty := plt.Transforms(&c)
	pe, ce := cc.m.PerRecordEdges, cc.m.PerCommitEdges
	for i := range cc.m.PerRecordS {
		for j := range cc.m.PerCommitS {
			// Half a point of overlap hides the seams antialiasing
			// leaves between abutting cells.
			x0, x1, y0, y1 := tx(pe[i]), tx(pe[i+1])+vg.Points(0.5), ty(ce[j]), ty(ce[j+1])+vg.Points(0.5)
			c.FillPolygon(gainColor(cc.m.Gain[i][j]), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
	}
}

// DataRange implements gplot.DataRanger.
func (cc claimCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	pe, ce := cc.m.PerRecordEdges, cc.m.PerCommitEdges
	return pe[0], pe[len(pe)-1], ce[0], ce[len(ce)-1]
}

// claimOutline draws the band's outline.
type claimOutline struct {
	segs  []model.Segment
	style draw.LineStyle
}

// Plot implements gplot.Plotter.
func (o claimOutline) Plot(c draw.Canvas, plt *gplot.Plot) {
	tx, ty := plt.Transforms(&c)
	for _, s := range o.segs {
		c.StrokeLines(o.style, []vg.Point{{X: tx(s.P0), Y: ty(s.C0)}, {X: tx(s.P1), Y: ty(s.C1)}})
	}
}

// Thumbnail implements gplot.Thumbnailer for the legend.
func (o claimOutline) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.StrokeLines(o.style, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
}

// swatch is a legend thumbnail filled with one colour.
type swatch struct{ c color.Color }

// Thumbnail implements gplot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.FillPolygon(s.c, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
	c.StrokeLines(draw.LineStyle{Color: color.Gray{Y: 160}, Width: vg.Points(0.5)}, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
}

// claimMapFigure draws where the claim holds: the model's gain of
// "10,000 records or 60 s" over "100 records or 5 s" over per-record and
// per-commit costs, the band of 10–30 % outlined, and the run's own
// fitted costs marked.
func claimMapFigure(p model.Panel) (*Figure, error) {
	name, fit, fitted := p.ReferenceFit()
	var fits []model.Fit
	if fitted {
		fits = append(fits, fit)
	}
	m, err := model.DefaultClaimMap(fits...)
	if err != nil {
		return nil, err
	}
	f := newFigure("claim-map", fmt.Sprintf("Where the claim holds: the model's gain of %s over %s", model.ClaimBatched, model.ClaimFrequent),
		p, "p: processing time per record (log scale)", "c: time one commit costs (log scale)")
	f.plot.Add(claimCells{m})
	outline := claimOutline{segs: m.Outline(), style: draw.LineStyle{Color: color.Black, Width: vg.Points(2)}}
	f.plot.Add(outline)
	for _, b := range gainBins {
		f.legend.Add(b.label, swatch{b.color})
	}
	f.legend.Add("claim's band, outlined", outline)
	pe, ce := m.PerRecordEdges, m.PerCommitEdges
	for _, ax := range []struct {
		a      *gplot.Axis
		lo, hi float64
	}{{&f.plot.X, pe[0], pe[len(pe)-1]}, {&f.plot.Y, ce[0], ce[len(ce)-1]}} {
		ax.a.Scale = gplot.LogScale{}
		ax.a.Tick.Marker = logTicks(Seconds)
		ax.a.Min, ax.a.Max = ax.lo, ax.hi
	}
	if fitted {
		mark, err := plotter.NewScatter(plotter.XYs{{X: fit.PerRecordS, Y: fit.PerCommitS}})
		if err != nil {
			return nil, fmt.Errorf("marking the fit: %w", err)
		}
		mark.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 200, A: 255}, Radius: vg.Points(6), Shape: draw.CrossGlyph{}}
		halo, err := plotter.NewScatter(plotter.XYs{{X: fit.PerRecordS, Y: fit.PerCommitS}})
		if err != nil {
			return nil, fmt.Errorf("marking the fit: %w", err)
		}
		halo.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 200, A: 255}, Radius: vg.Points(9), Shape: draw.RingGlyph{}}
		f.plot.Add(mark, halo)
		f.legend.Add("this run's fit ("+name+")", mark, halo)
		f.legend.Add(fmt.Sprintf("  p = %s, c = %s", short(fit.PerRecordS), short(fit.PerCommitS)))
		f.legend.Add(fmt.Sprintf("  model gain there: %+.0f %%", 100*fit.ClaimGain()))
		f.legend.Add(fmt.Sprintf("  replay per crash: %s vs %s records", Human(fit.ReplayAt(model.ClaimBatched)), Human(fit.ReplayAt(model.ClaimFrequent))))
	} else {
		f.legend.Add("no strategy fitted: this run is not marked")
	}
	return &f, nil
}

// short prints seconds to three significant digits: 41.4µs, 2.56ms.
func short(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1, "s"}, {1e-3, "ms"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 3, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v*1e6, 'g', 3, 64) + "µs"
}
