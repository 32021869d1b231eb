// Package summary condenses a run's results into one row per cell
// (strategy × interval) — means with their spread over repetitions, merged
// latency histograms, crash figures — and prints them as the table that
// ends `commitbench run`.
package summary

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
)

// Row is one cell's summary.
type Row struct {
	Workload, Strategy, Interval string
	Reps                         int
	// RecordsPerSec is the mean over repetitions; RecordsPerSecSD its
	// sample standard deviation (0 with one repetition).
	RecordsPerSec, RecordsPerSecSD float64
	// OfCeiling is RecordsPerSec over the workload's `none` mean, or NaN.
	OfCeiling float64
	Commits   float64 // mean per repetition
	// Commit is the commit-call latency over all repetitions' histograms.
	Commit metrics.Latency
	// Crash figures over all repetitions (Kills 0 when no crash phase ran).
	Kills               int
	ReplayMean          float64
	ReplayMax           int64
	Lost                int64
	Duplicates          int64 // effects that landed twice
	RecoveryMeanMs      float64
	Violations          int
	Broker              string
	EmulatedCommitDelay float64 // ms
}

// Rows summarises results cell by cell, in the order cells first appear.
func Rows(rs []results.Result) ([]Row, error) {
	cells := results.Group(rs)
	ceiling := map[string]float64{}
	for _, c := range cells {
		if c.Strategy == "none" {
			ceiling[c.Workload] = metrics.Mean(c.Values(func(r results.Result) float64 { return r.Throughput.RecordsPerSec }))
		}
	}
	var rows []Row
	for _, c := range cells {
		f := c.First()
		tput := c.Values(func(r results.Result) float64 { return r.Throughput.RecordsPerSec })
		row := Row{
			Workload: c.Workload, Strategy: c.Strategy, Interval: intervalLabel(f),
			Reps:          len(c.Reps),
			RecordsPerSec: metrics.Mean(tput), RecordsPerSecSD: metrics.StdDev(tput),
			OfCeiling:           math.NaN(),
			Commits:             metrics.Mean(c.Values(func(r results.Result) float64 { return float64(r.Throughput.Commits) })),
			Broker:              f.Broker.Kind,
			EmulatedCommitDelay: float64(f.Broker.EmulatedCommitDelayNs) / 1e6,
		}
		if ce, ok := ceiling[c.Workload]; ok && ce > 0 {
			row.OfCeiling = row.RecordsPerSec / ce
		}
		h := metrics.NewHistogram()
		var replaySum, recSum float64
		var replayN, recN int
		for _, r := range c.Reps {
			rh, err := metrics.Decode(r.Throughput.CommitLatencyHist)
			if err != nil {
				return nil, fmt.Errorf("%s rep %d: %w", r.Key, r.Repetition, err)
			}
			h.Merge(rh)
			row.Violations += len(r.Violations)
			if cr := r.Crash; cr != nil {
				row.Kills += cr.Kills
				row.Lost += cr.Lost
				row.Duplicates += cr.Duplicates
				row.ReplayMax = max(row.ReplayMax, cr.ReplayMax)
				for _, n := range cr.ReplayPerCrash {
					replaySum += float64(n)
					replayN++
				}
				for _, ms := range cr.RecoveryMs {
					recSum += ms
					recN++
				}
			}
		}
		row.Commit = metrics.Summarize(h)
		if replayN > 0 {
			row.ReplayMean = replaySum / float64(replayN)
		}
		if recN > 0 {
			row.RecoveryMeanMs = recSum / float64(recN)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func intervalLabel(r results.Result) string {
	switch r.IntervalKind {
	case "count":
		return fmt.Sprintf("%d rec", r.CommitEveryRecords)
	case "time":
		return fmt.Sprintf("%g ms", r.CommitEveryMs)
	case "hybrid":
		return fmt.Sprintf("%d rec|%g ms", r.CommitEveryRecords, r.CommitEveryMs)
	}
	return "-"
}

// Print writes rows as an aligned table, one block per workload.
func Print(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	last := ""
	for _, r := range rows {
		if r.Workload != last {
			if last != "" {
				fmt.Fprintln(tw)
			}
			last = r.Workload
			fmt.Fprintf(tw, "workload %s on %s%s\n", r.Workload, r.Broker, delayNote(r.EmulatedCommitDelay))
			fmt.Fprintln(tw, strings.Join([]string{"strategy", "interval", "records/s", "±sd", "%ceiling", "commits",
				"commit p50 µs", "p99", "p99.9", "max", "crashes", "replay mean", "replay max", "lost", "dup effects", "recovery ms", "violations", ""}, "\t"))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n",
			r.Strategy, r.Interval, r.RecordsPerSec, r.RecordsPerSecSD, pct(r.OfCeiling), r.Commits,
			us(r.Commit.Count, r.Commit.P50Us), us(r.Commit.Count, r.Commit.P99Us), us(r.Commit.Count, r.Commit.P999Us), us(r.Commit.Count, r.Commit.MaxUs),
			r.Kills, crashF(r.Kills, "%.1f", r.ReplayMean), crashF(r.Kills, "%.0f", float64(r.ReplayMax)),
			crashF(r.Kills, "%.0f", float64(r.Lost)), crashF(r.Kills, "%.0f", float64(r.Duplicates)),
			crashF(r.Kills, "%.1f", r.RecoveryMeanMs), r.Violations)
	}
	return tw.Flush()
}

func delayNote(ms float64) string {
	if ms == 0 {
		return ""
	}
	return fmt.Sprintf(" (+%g ms emulated commit latency)", ms)
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func us(n int64, v float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

func crashF(kills int, format string, v float64) string {
	if kills == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}
