// Package summary is the one cell summary: a cell's repetitions merged
// once — throughput mean ± sd, latency HdrHistograms merged (never
// percentiles averaged), crash figures over every crash, broker load, with
// the sample count beside each figure — for the table, the plots and the
// report alike, and the sample-size rules every printer and the gate
// follow. (The gate judges repetitions one by one, as its statistics need.)
package summary

import (
	"fmt"
	"math"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

// Stat summarises one figure over repetitions.
type Stat struct {
	// Mean, Min and Max of the values; SD is the sample standard deviation
	// (0 with fewer than two).
	Mean, SD, Min, Max float64
	// N is how many values there were.
	N int
}

// NewStat summarises v.
func NewStat(v []float64) Stat {
	if len(v) == 0 {
		return Stat{Mean: math.NaN(), SD: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := Stat{Mean: metrics.Mean(v), SD: metrics.StdDev(v), Min: v[0], Max: v[0], N: len(v)}
	for _, x := range v {
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
	}
	return s
}

// Cell is one cell of a sweep — a strategy at one interval on one workload
// and broker — summarised over its repetitions.
type Cell struct {
	Key, Workload, Strategy string
	Guarantee               strategy.Guarantee
	Interval                spec.Interval
	Broker                  cluster.Description
	// Reps are the repetitions, in order; Reps[0] carries the settings.
	Reps []results.Result

	// Throughput is records/s over the repetitions' steady windows.
	Throughput Stat
	// OfCeiling is Throughput.Mean over the mean of the `none` cell of the
	// same workload and broker; NaN without one.
	OfCeiling float64
	// Commits is the commits made inside the measured window, per
	// repetition.
	Commits Stat
	// RecordsPerCommit is the model's N: records consumed per commit made,
	// averaged over repetitions (see RecordsPerCommit).
	RecordsPerCommit float64
	// Commit is the commit call's latency and WireCommit the commit
	// request's on the wire, every repetition's histogram merged.
	Commit, WireCommit metrics.Latency
	// WorkerCPUSeconds is the worker's CPU time per throughput phase.
	WorkerCPUSeconds Stat
	// BrokerCPUPer1kCommits and OffsetsBytesPerCommit are the broker's
	// cost of commits, over the repetitions that measured it (N = 0 where
	// the broker cannot tell or no commit was made).
	BrokerCPUSeconds, BrokerCPUPer1kCommits, OffsetsBytesPerCommit Stat
	// Crash is the crash phase over every repetition; nil without one.
	Crash *Crashes
	// Scenario is the group's scenario phase over every repetition; nil
	// without a group.
	Scenario *Scenario
	// Breaches is how many breaches of the strategy's claim results.Check
	// finds over the repetitions.
	Breaches int
}

// Label is the interval's label ("100rec", "5s", "100rec|5s", "-").
func (c Cell) Label() string { return c.Interval.String() }

// Crashes is the crash phase of a cell, over every crash of every
// repetition.
type Crashes struct {
	// Kills is how many SIGKILLs landed: the sample count of every
	// per-crash figure below.
	Kills int
	// Replay and Loss are per crash, in records; ReplayQuartiles are the
	// 25th, 50th and 75th percentiles of the replays.
	ReplayMean, LossMean float64
	ReplayMax, LossMax   int64
	ReplayQuartiles      [3]float64
	// SinceCommitMean is the mean of what the killed workers had processed
	// since their last successful commit, over SinceCommitN kills.
	SinceCommitMean float64
	SinceCommitN    int
	// Lost and Duplicates are totals over every crash.
	Lost, Duplicates int64
	// RecoveryMeanMs is over RecoveryN recoveries (a last kill may have no
	// replacement that processed anything).
	RecoveryMeanMs float64
	RecoveryN      int
	// ReplayBound and LossBound are the bounds the strategy claims, nil
	// where it claims none.
	ReplayBound, LossBound *int64
}

// Cells summarises results cell by cell, in the order cells first appear.
func Cells(rs []results.Result) ([]Cell, error) {
	groups := results.ByCell(rs)
	cells := make([]Cell, 0, len(groups))
	ceiling := map[string]float64{}
	for _, g := range groups {
		c, err := summarise(g)
		if err != nil {
			return nil, err
		}
		if c.Strategy == strategy.None {
			ceiling[panelKey(c)] = c.Throughput.Mean
		}
		cells = append(cells, c)
	}
	for i := range cells {
		cells[i].OfCeiling = math.NaN()
		if ce, ok := ceiling[panelKey(cells[i])]; ok && ce > 0 {
			cells[i].OfCeiling = cells[i].Throughput.Mean / ce
		}
	}
	return cells, nil
}

// panelKey groups the cells that share a ceiling: one workload on one
// broker.
func panelKey(c Cell) string { return c.Workload + "\x00" + c.Broker.Label() }

func summarise(g results.CellReps) (Cell, error) {
	f := g.First()
	c := Cell{
		Key: g.Key, Workload: f.Workload, Strategy: f.Strategy, Guarantee: f.Guarantee,
		Interval: f.Interval, Broker: f.Broker, Reps: g.Reps,
		Throughput:       NewStat(g.Values(func(r results.Result) float64 { return r.Throughput.RecordsPerSec })),
		Commits:          NewStat(g.Values(func(r results.Result) float64 { return float64(r.Throughput.Commits) })),
		RecordsPerCommit: metrics.Mean(g.Values(RecordsPerCommit)),
		WorkerCPUSeconds: NewStat(g.Values(func(r results.Result) float64 { return r.Throughput.WorkerCPUSeconds })),
	}
	call, wire := metrics.NewHistogram(), metrics.NewHistogram()
	var brokerCPU, cpuPerK, bytesPer []float64
	for _, r := range g.Reps {
		if err := merge(call, r.Throughput.CommitLatencyHist); err != nil {
			return c, fmt.Errorf("%s rep %d: commit latency: %w", r.Key, r.Repetition, err)
		}
		if err := merge(wire, r.Throughput.WireCommitLatencyHist); err != nil {
			return c, fmt.Errorf("%s rep %d: wire commit latency: %w", r.Key, r.Repetition, err)
		}
		c.Breaches += len(results.Check(r))
		t := r.Throughput
		if t.BrokerCPUSeconds != nil {
			brokerCPU = append(brokerCPU, *t.BrokerCPUSeconds)
		}
		if v, ok := t.BrokerCPUPer1kCommits(); ok {
			cpuPerK = append(cpuPerK, v)
		}
		if v, ok := t.OffsetsBytesPerCommit(); ok {
			bytesPer = append(bytesPer, v)
		}
	}
	c.Commit, c.WireCommit = metrics.Summarize(call), metrics.Summarize(wire)
	c.BrokerCPUSeconds, c.BrokerCPUPer1kCommits, c.OffsetsBytesPerCommit = NewStat(brokerCPU), NewStat(cpuPerK), NewStat(bytesPer)
	c.Crash = crashes(g.Reps)
	c.Scenario = scenarios(g.Reps)
	return c, nil
}

func crashes(reps []results.Result) *Crashes {
	var s Crashes
	var replaySum, lossSum, recSum, sinceSum float64
	var replays []float64
	ran := false
	for _, r := range reps {
		cr := r.Crash
		if cr == nil {
			continue
		}
		ran = true
		s.Kills += cr.Kills
		s.Lost += cr.Lost
		s.Duplicates += cr.Duplicates
		for _, n := range cr.ReplayPerCrash {
			replaySum += float64(n)
			replays = append(replays, float64(n))
			s.ReplayMax = max(s.ReplayMax, n)
		}
		for _, l := range cr.Landed {
			if l.SinceCommitRecords != nil {
				sinceSum += float64(*l.SinceCommitRecords)
				s.SinceCommitN++
			}
		}
		for _, n := range cr.LostPerCrash {
			lossSum += float64(n)
			s.LossMax = max(s.LossMax, n)
		}
		for _, ms := range cr.RecoveryMs {
			recSum += ms
			s.RecoveryN++
		}
		// The loosest bound any repetition claimed (they agree unless the
		// settings differ, which the gate refuses).
		s.ReplayBound = looser(s.ReplayBound, cr.ReplayBound)
		s.LossBound = looser(s.LossBound, cr.LossBound)
	}
	if !ran {
		return nil
	}
	if s.Kills > 0 {
		s.ReplayMean = replaySum / float64(s.Kills)
		s.LossMean = lossSum / float64(s.Kills)
	}
	if s.RecoveryN > 0 {
		s.RecoveryMeanMs = recSum / float64(s.RecoveryN)
	}
	if s.SinceCommitN > 0 {
		s.SinceCommitMean = sinceSum / float64(s.SinceCommitN)
	}
	if len(replays) > 0 {
		slices.Sort(replays)
		for i, q := range []float64{0.25, 0.5, 0.75} {
			s.ReplayQuartiles[i] = stat.Quantile(q, stat.Empirical, replays, nil)
		}
	}
	return &s
}

func looser(cur, b *int64) *int64 {
	if b == nil || cur != nil && *cur >= *b {
		return cur
	}
	v := *b
	return &v
}

// RecordsPerCommit is the model's N for one result: the records of the
// measured window per commit made inside it — which also places time
// intervals and async commits that coalesce — else the nominal record
// count, else +Inf (no commit touched the window).
func RecordsPerCommit(r results.Result) float64 {
	t := r.Throughput
	switch {
	case t.Commits > 0 && t.MeasuredRecords > 0:
		return float64(t.MeasuredRecords) / float64(t.Commits)
	case r.Interval.Records > 0:
		return float64(r.Interval.Records)
	}
	return math.Inf(1)
}

// merge adds an encoded histogram to into.
func merge(into *hdrhistogram.Histogram, enc string) error {
	h, err := metrics.Decode(enc)
	if err != nil {
		return err
	}
	into.Merge(h)
	return nil
}
