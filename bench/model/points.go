package model

import (
	"fmt"
	"math"
	"sort"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/summary"
)

// Axis is the x axis a point belongs on. Count and time intervals are not
// comparable, so each gets its own figures.
type Axis string

// The axes. Hybrid intervals (records or time, whichever comes first) go on
// the count axis at their record count, as a series of their own.
const (
	AxisCount Axis = "count"
	AxisTime  Axis = "time"
)

// Axes lists the axes in drawing order.
var Axes = []Axis{AxisCount, AxisTime}

// Unit is the axis' unit for labels.
func (a Axis) Unit() string {
	if a == AxisTime {
		return "seconds between commits"
	}
	return "records per commit"
}

// CurvePoint is a cell summary placed on a figure: the axis it belongs
// on, the series it is drawn in, its x, and how far it lies from its
// strategy's fitted curve.
type CurvePoint struct {
	summary.Cell
	Axis Axis
	// Series names the line the point is drawn on: the strategy, with the
	// time limit appended for hybrid intervals.
	Series string
	// X is the interval on its axis: records (count, hybrid) or seconds.
	X float64
	// Expected is the throughput the strategy's other points predict here
	// (their fit, leaving this point out) and Deviation how far the
	// measurement lies from it (see Fit.Deviation); meaningful when Fitted.
	Expected, Deviation float64
	Fitted              bool
}

// FarOff reports whether the point lies more than FarOff from its fit.
func (p CurvePoint) FarOff() bool { return p.Fitted && math.Abs(p.Deviation) > FarOff }

// ExpectedReplay is the replay to expect from one crash: the measured mean
// when crashes were run, else the model's window/2.
func (p CurvePoint) ExpectedReplay() float64 {
	if p.Crash != nil && p.Crash.Kills > 0 {
		return p.Crash.ReplayMean
	}
	return p.Window() / 2
}

// ExpectedMaxReplay is the most one crash should replay: the larger of the
// measured maximum and the bound — the strategy's claimed bound, or else
// the commit window.
func (p CurvePoint) ExpectedMaxReplay() float64 {
	bound := p.Window()
	if p.Crash != nil && p.Crash.ReplayBound != nil {
		bound = float64(*p.Crash.ReplayBound)
	}
	if p.Crash != nil {
		return max(bound, float64(p.Crash.ReplayMax))
	}
	return bound
}

// Window is the model's commit window W in records, the one definition
// the capacity plan and the replay table share: N for a count interval;
// for a time interval T, r·T at the measured per-consumer rate r — the
// worst case, a consumer running flat out as it does while it catches up
// after a crash; the smaller of the two for a hybrid; and never less than
// the records per commit measured (async commits coalesce).
func (p CurvePoint) Window() float64 {
	iv := p.Interval
	w := math.Inf(1)
	if iv.Records > 0 {
		w = float64(iv.Records)
	}
	if iv.Every > 0 {
		w = min(w, p.Throughput.Mean*iv.Every.D().Seconds())
	}
	if !math.IsInf(p.RecordsPerCommit, 1) && !math.IsNaN(p.RecordsPerCommit) {
		w = max(w, p.RecordsPerCommit)
	}
	return w
}

// Panel is every result of one workload on one broker: what one set of
// figures shows.
type Panel struct {
	Workload string
	Broker   cluster.Description
	// First is the panel's first result; it carries the settings (topic,
	// processing, client, environment) the panel shares.
	First results.Result
	// Ceiling holds the cells that never commit (no interval).
	Ceiling []CurvePoint
	// Points holds the cells that commit, in the order they appear.
	Points []CurvePoint
	// Fits is the cost model per strategy; FitErrors says why a strategy
	// has none.
	Fits      map[string]Fit
	FitErrors map[string]error
}

// Title names the panel in figure titles: workload and broker.
func (p Panel) Title() string {
	return p.Workload + " · " + p.Broker.Label()
}

// OnAxis returns the points drawn on axis a.
func (p Panel) OnAxis(a Axis) []CurvePoint {
	var out []CurvePoint
	for _, pt := range p.Points {
		if pt.Axis == a {
			out = append(out, pt)
		}
	}
	return out
}

// Strategies lists the committing strategies in order of appearance.
func (p Panel) Strategies() []string {
	return uniq(p.Points, func(pt CurvePoint) string { return pt.Strategy })
}

// Series lists every series name (ceiling first) in order of appearance,
// so that a series keeps its colour across figures.
func (p Panel) Series() []string {
	return uniq(append(append([]CurvePoint(nil), p.Ceiling...), p.Points...), func(pt CurvePoint) string { return pt.Series })
}

// Panels summarises results per workload and broker (through the one cell
// summary), fits the cost model per strategy and marks the points far from
// their fit.
func Panels(rs []results.Result) ([]Panel, error) {
	cells, err := summary.Cells(rs)
	if err != nil {
		return nil, err
	}
	var panels []Panel
	idx := map[string]int{}
	for _, c := range cells {
		f := c.Reps[0]
		key := f.Workload + "\x00" + f.Broker.Label()
		i, ok := idx[key]
		if !ok {
			i = len(panels)
			idx[key] = i
			panels = append(panels, Panel{Workload: f.Workload, Broker: f.Broker, First: f})
		}
		pt := place(c)
		if pt.Interval.Kind() == "" {
			panels[i].Ceiling = append(panels[i].Ceiling, pt)
		} else {
			panels[i].Points = append(panels[i].Points, pt)
		}
	}
	for i := range panels {
		panels[i].fit()
	}
	return panels, nil
}

func (p *Panel) fit() {
	p.Fits, p.FitErrors = map[string]Fit{}, map[string]error{}
	obsOf := func(s string, skip int) []Observation {
		var obs []Observation
		for i, pt := range p.Points {
			if pt.Strategy != s || i == skip {
				continue
			}
			for _, r := range pt.Reps {
				obs = append(obs, Observation{RecordsPerCommit: summary.RecordsPerCommit(r), RecordsPerSec: r.Throughput.RecordsPerSec})
			}
		}
		return obs
	}
	// intervals counts the strategy's measured intervals (leaving one
	// point out): repetitions of one interval scatter in N, and a line
	// through that scatter is noise, however well it fits.
	intervals := func(s string, skip int) int {
		seen := map[string]bool{}
		for i, pt := range p.Points {
			if pt.Strategy == s && i != skip {
				seen[pt.Label()] = true
			}
		}
		return len(seen)
	}
	for _, s := range p.Strategies() {
		if n := intervals(s, -1); n < 2 {
			p.FitErrors[s] = fmt.Errorf("fitting the cost model needs at least two intervals; %s was measured at %d", s, n)
			continue
		}
		f, err := FitCost(obsOf(s, -1))
		if err != nil {
			p.FitErrors[s] = err
			continue
		}
		p.Fits[s] = f
	}
	// A point is judged against the fit of its strategy's other points
	// (leave one out): an outlier must not bend the curve it is judged by,
	// nor pull the whole fit below MinR2 and so escape notice.
	for i, pt := range p.Points {
		if intervals(pt.Strategy, i) < 2 {
			continue
		}
		f, err := FitCost(obsOf(pt.Strategy, i))
		if err != nil {
			continue
		}
		p.Points[i].Expected = f.Throughput(pt.RecordsPerCommit)
		p.Points[i].Deviation = f.Deviation(pt.RecordsPerCommit, pt.Throughput.Mean)
		p.Points[i].Fitted = true
	}
}

// place puts a cell on its axis.
func place(c summary.Cell) CurvePoint {
	pt := CurvePoint{Cell: c, Axis: AxisCount, Series: c.Strategy, X: float64(c.Interval.Records)}
	switch c.Interval.Kind() {
	case "time":
		pt.Axis, pt.X = AxisTime, c.Interval.Every.D().Seconds()
	case "hybrid":
		pt.Series = fmt.Sprintf("%s (hybrid, ≤%s)", c.Strategy, c.Interval.Every)
	}
	if c.Scenario != nil {
		// One curve per group set-up: the cells of a strategy differ by it.
		pt.Series += " · " + c.Scenario.Group
	}
	return pt
}

func uniq(pts []CurvePoint, key func(CurvePoint) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, pt := range pts {
		if k := key(pt); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// sortByX orders points along their axis.
func sortByX(pts []CurvePoint) {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
}
