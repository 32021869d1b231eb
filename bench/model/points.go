package model

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
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

// Stat summarises one figure over repetitions.
type Stat struct {
	Mean, Min, Max, SD float64
	N                  int
}

// NewStat summarises v (sample standard deviation).
func NewStat(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	lo, hi := minMax(v)
	s := Stat{Mean: mean(v), Min: lo, Max: hi, N: len(v)}
	if len(v) > 1 {
		var ss float64
		for _, x := range v {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(v)-1))
	}
	return s
}

// Point is one cell of the sweep — a strategy at one interval — summarised
// over its repetitions.
type Point struct {
	Cell      results.Cell
	Strategy  string
	Guarantee string
	// Kind is the interval kind as recorded: count, time, hybrid or "".
	Kind string
	Axis Axis
	// Series names the line the point is drawn on: the strategy, with the
	// time limit appended for hybrid intervals.
	Series string
	// X is the interval on its axis: records (count, hybrid) or seconds.
	X float64
	// Label is the interval as workloads write it: "100rec", "5s".
	Label string
	// RecordsPerCommit is the model's N, averaged over repetitions.
	RecordsPerCommit float64
	Throughput       Stat
	// Commit latency percentiles in µs, averaged over repetitions.
	CommitP50Us, CommitP99Us, CommitP999Us float64
	Commits                                int64
	Crash                                  *CrashSummary
	// Deviation from the strategy's fitted curve (see Fit.Deviation);
	// meaningful when Fitted.
	Deviation float64
	Fitted    bool
}

// FarOff reports whether the point lies more than FarOff from its fit.
func (p Point) FarOff() bool { return p.Fitted && math.Abs(p.Deviation) > FarOff }

// CrashSummary is the crash phase over all repetitions of a point.
type CrashSummary struct {
	Kills int
	// Per crash, in records.
	ReplayMean, ReplayMax, LossMean, LossMax float64
	// Bounds the strategy claims, when it claims one.
	ReplayBound, LossBound *float64
}

// ExpectedReplay is the replay to expect from one crash: the measured mean
// when crashes were run, else the model's window/2.
func (p Point) ExpectedReplay() float64 {
	if p.Crash != nil {
		return p.Crash.ReplayMean
	}
	return p.Window() / 2
}

// ExpectedMaxReplay is the most one crash should replay: the larger of the
// measured maximum and the bound — the strategy's claimed bound, or else
// the commit window.
func (p Point) ExpectedMaxReplay() float64 {
	bound := p.Window()
	if p.Crash != nil && p.Crash.ReplayBound != nil {
		bound = *p.Crash.ReplayBound
	}
	if p.Crash != nil {
		return max(bound, p.Crash.ReplayMax)
	}
	return bound
}

// Window is the records processed between two commits: N for a count
// interval; for a time interval T, r·T at the measured per-consumer rate r —
// the worst case, a consumer running flat out as it does while it catches
// up after a crash.
func (p Point) Window() float64 {
	if p.Axis == AxisTime {
		return p.Throughput.Mean * p.X
	}
	if math.IsInf(p.RecordsPerCommit, 1) {
		return p.X
	}
	return max(p.X, p.RecordsPerCommit)
}

// Panel is every result of one workload on one broker: what one set of
// figures shows.
type Panel struct {
	Workload string
	Broker   broker.Description
	// First is the panel's first result; it carries the settings (topic,
	// processing, client, environment) the panel shares.
	First results.Result
	// Ceiling holds the cells that never commit (no interval).
	Ceiling []Point
	// Points holds the cells that commit, in the order they appear.
	Points []Point
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
func (p Panel) OnAxis(a Axis) []Point {
	var out []Point
	for _, pt := range p.Points {
		if pt.Axis == a {
			out = append(out, pt)
		}
	}
	return out
}

// Strategies lists the committing strategies in order of appearance.
func (p Panel) Strategies() []string {
	return uniq(p.Points, func(pt Point) string { return pt.Strategy })
}

// Series lists every series name (ceiling first) in order of appearance,
// so that a series keeps its colour across figures.
func (p Panel) Series() []string {
	return uniq(append(append([]Point(nil), p.Ceiling...), p.Points...), func(pt Point) string { return pt.Series })
}

// Panels summarises results per workload and broker, fits the cost model
// per strategy and marks the points far from their fit.
func Panels(rs []results.Result) []Panel {
	var panels []Panel
	idx := map[string]int{}
	for _, c := range results.Group(rs) {
		f := c.First()
		key := f.Workload + "\x00" + f.Broker.Label()
		i, ok := idx[key]
		if !ok {
			i = len(panels)
			idx[key] = i
			panels = append(panels, Panel{Workload: f.Workload, Broker: f.Broker, First: f})
		}
		pt := summarise(c)
		if pt.Kind == "" {
			panels[i].Ceiling = append(panels[i].Ceiling, pt)
		} else {
			panels[i].Points = append(panels[i].Points, pt)
		}
	}
	for i := range panels {
		panels[i].fit()
	}
	return panels
}

func (p *Panel) fit() {
	p.Fits, p.FitErrors = map[string]Fit{}, map[string]error{}
	for _, s := range p.Strategies() {
		var obs []Observation
		for _, pt := range p.Points {
			if pt.Strategy != s {
				continue
			}
			for _, r := range pt.Cell.Reps {
				obs = append(obs, Observation{RecordsPerCommit: RecordsPerCommit(r), RecordsPerSec: r.Throughput.RecordsPerSec})
			}
		}
		f, err := FitCost(obs)
		if err != nil {
			p.FitErrors[s] = err
			continue
		}
		p.Fits[s] = f
	}
	for i, pt := range p.Points {
		if f, ok := p.Fits[pt.Strategy]; ok {
			p.Points[i].Deviation = f.Deviation(pt.RecordsPerCommit, pt.Throughput.Mean)
			p.Points[i].Fitted = true
		}
	}
}

// RecordsPerCommit is the model's N for one result: records consumed per
// commit made when the run committed — which also covers time intervals and
// async commits that coalesce — else the nominal record count, else +Inf.
func RecordsPerCommit(r results.Result) float64 {
	switch {
	case r.Throughput.Commits > 0 && r.Throughput.Records > 0:
		return float64(r.Throughput.Records) / float64(r.Throughput.Commits)
	case r.CommitEveryRecords > 0:
		return float64(r.CommitEveryRecords)
	}
	return math.Inf(1)
}

func summarise(c results.Cell) Point {
	f := c.First()
	iv := spec.Interval{Records: f.CommitEveryRecords, Every: spec.Duration(time.Duration(f.CommitEveryMs * float64(time.Millisecond)))}
	pt := Point{
		Cell: c, Strategy: f.Strategy, Guarantee: f.Guarantee, Kind: f.IntervalKind,
		Axis: AxisCount, Series: f.Strategy, X: float64(f.CommitEveryRecords), Label: iv.String(),
		RecordsPerCommit: mean(c.Values(RecordsPerCommit)),
		Throughput:       NewStat(c.Values(func(r results.Result) float64 { return r.Throughput.RecordsPerSec })),
		CommitP50Us:      mean(c.Values(func(r results.Result) float64 { return r.Throughput.CommitLatency.P50Us })),
		CommitP99Us:      mean(c.Values(func(r results.Result) float64 { return r.Throughput.CommitLatency.P99Us })),
		CommitP999Us:     mean(c.Values(func(r results.Result) float64 { return r.Throughput.CommitLatency.P999Us })),
		Crash:            summariseCrashes(c.Reps),
	}
	for _, r := range c.Reps {
		pt.Commits += r.Throughput.Commits
	}
	switch f.IntervalKind {
	case "time":
		pt.Axis, pt.X = AxisTime, f.CommitEveryMs/1e3
	case "hybrid":
		pt.Series = fmt.Sprintf("%s (hybrid, ≤%s)", f.Strategy, iv.Every)
	}
	return pt
}

func summariseCrashes(reps []results.Result) *CrashSummary {
	var s CrashSummary
	var replaySum, lost float64
	for _, r := range reps {
		c := r.Crash
		if c == nil || c.Kills == 0 {
			continue
		}
		s.Kills += c.Kills
		replaySum += c.ReplayMean * float64(c.Kills)
		s.ReplayMax = max(s.ReplayMax, float64(c.ReplayMax))
		lost += float64(c.Lost)
		// Without a per-crash list, the total is the most one crash lost.
		repMax := c.Lost
		if len(c.LostPerCrash) > 0 {
			repMax = slices.Max(c.LostPerCrash)
		}
		s.LossMax = max(s.LossMax, float64(repMax))
		// The loosest bound any repetition claimed (they should agree).
		s.ReplayBound = maxBound(s.ReplayBound, c.ReplayBound)
		s.LossBound = maxBound(s.LossBound, c.LossBound)
	}
	if s.Kills == 0 {
		return nil
	}
	s.ReplayMean = replaySum / float64(s.Kills)
	s.LossMean = lost / float64(s.Kills)
	return &s
}

func maxBound(cur *float64, b *int64) *float64 {
	if b == nil {
		return cur
	}
	v := float64(*b)
	if cur != nil && *cur > v {
		return cur
	}
	return &v
}

func uniq(pts []Point, key func(Point) string) []string {
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
func sortByX(pts []Point) {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
}
