package plot

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/results"
)

// Formats are the file formats Write produces.
var Formats = []string{"png", "svg"}

// Size of every figure.
const (
	width  = 10 * vg.Inch
	height = 5 * vg.Inch
)

// Figure is one chart, ready to render.
type Figure struct {
	// Name is the file name without extension, unique within a run.
	Name string
	// Title is the figure's headline, without the panel line.
	Title string
	plot  *gplot.Plot
	// Axis labels, drawn by Render (see there).
	xLabel, yLabel string
	// The legend is drawn beside the plot, never over the data, so it is
	// kept apart from plot.Legend.
	legend gplot.Legend
}

// FromResults summarises results into panels and draws their figures.
func FromResults(rs []results.Result) (Set, error) {
	panels, err := model.Panels(rs)
	if err != nil {
		return Set{}, err
	}
	return Figures(panels)
}

// Set is the figures drawn for some panels, and notes naming the figures
// the data could not support and why (a broker that measured no load).
type Set struct {
	Figures []Figure
	Notes   []string
}

// Figures draws every figure the panels' data supports. With more than one
// panel, names are prefixed with the panel's workload and broker.
func Figures(panels []model.Panel) (Set, error) {
	var out Set
	for _, p := range panels {
		figs, notes, err := panelFigures(p)
		if err != nil {
			return Set{}, fmt.Errorf("plotting %s: %w", p.Title(), err)
		}
		if len(panels) > 1 {
			for i := range figs {
				figs[i].Name = slug(p.Workload+"-"+p.Broker.Kind+"-"+p.Broker.Label()) + "-" + figs[i].Name
			}
			for i := range notes {
				notes[i] = p.Title() + ": " + notes[i]
			}
		}
		out.Figures = append(out.Figures, figs...)
		out.Notes = append(out.Notes, notes...)
	}
	if len(out.Figures) == 0 {
		return Set{}, fmt.Errorf("the results hold nothing to plot")
	}
	return out, nil
}

// Render encodes the figure in format "png" or "svg".
func (f Figure) Render(format string) ([]byte, error) {
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", f.Name, err)
	}
	dc := draw.New(c)
	pad := vg.Points(12)
	legendWidth := f.legend.Rectangle(dc).Size().X + 2*pad
	// gonum places axis labels by the arithmetic middle of the data range,
	// which on a log axis pads the plot far to one side; the figure draws
	// its axis labels itself, centred on the data area.
	pl := *f.plot
	pl.X.Label.Text, pl.Y.Label.Text = "", ""
	xsty, ysty := f.plot.X.Label.TextStyle, f.plot.Y.Label.TextStyle
	ysty.Rotation = math.Pi / 2
	plotArea := draw.Crop(dc, ysty.Height(f.yLabel)+pad/2, -legendWidth, xsty.Height(f.xLabel)+pad/2, 0)
	pl.Draw(plotArea)
	data := pl.DataCanvas(plotArea)
	xsty.XAlign, ysty.XAlign = draw.XCenter, draw.XCenter
	dc.FillText(xsty, vg.Point{X: (data.Min.X + data.Max.X) / 2, Y: dc.Min.Y + xsty.FontExtents().Descent + pad/4}, f.xLabel)
	dc.FillText(ysty, vg.Point{X: dc.Min.X + ysty.Height(f.yLabel) - ysty.FontExtents().Descent, Y: (data.Min.Y + data.Max.Y) / 2}, f.yLabel)
	// Top-align the legend with the data area, right of the plot.
	f.legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: plotArea.Max.X + pad, Y: data.Min.Y},
		Max: vg.Point{X: dc.Max.X - pad, Y: data.Max.Y},
	}})
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("rendering %s as %s: %w", f.Name, format, err)
	}
	return buf.Bytes(), nil
}

// Write renders every figure in every format into dir and returns the
// paths written.
func Write(dir string, figs []Figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating plot directory: %w", err)
	}
	var paths []string
	for _, f := range figs {
		for _, format := range Formats {
			b, err := f.Render(format)
			if err != nil {
				return nil, err
			}
			path := filepath.Join(dir, f.Name+"."+format)
			if err := results.WriteFileAtomic(path, b); err != nil {
				return nil, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// newFigure starts a figure: title with the panel line, axis labels, a
// legend for the side.
func newFigure(name, title string, p model.Panel, xLabel, yLabel string) Figure {
	pl := gplot.New()
	pl.Title.Text = title + "\n" + p.Title()
	pl.Title.TextStyle.Font.Size = vg.Points(13)
	pl.Title.Padding = vg.Points(8)
	pl.X.Padding, pl.Y.Padding = vg.Points(4), vg.Points(4)
	pl.Add(newGrid())
	lg := gplot.NewLegend()
	lg.Top, lg.Left = true, true
	lg.TextStyle.Font = font.From(gplot.DefaultFont, vg.Points(10))
	lg.Padding = vg.Points(2)
	return Figure{Name: name, Title: title, plot: pl, legend: lg, xLabel: xLabel, yLabel: yLabel}
}

// slug makes s safe and short for a file name.
func slug(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return strings.Trim(s, "-")
}
