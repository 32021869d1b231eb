package summary

import (
	"fmt"
	"math"
	"time"

	"github.com/commitbench/commitbench/bench/metrics"
)

// Sample sizes below which a tail percentile is not shown as a number: with
// fewer than 100 samples p99 is the largest or second-largest value, and
// with fewer than 1,000 p99.9 is the maximum.
const (
	MinSamplesP99  = 100
	MinSamplesP999 = 1000
)

// Quantile names a latency figure.
type Quantile int

// The latency figures a printer shows.
const (
	P50 Quantile = iota
	P99
	P999
	Max
)

// Value returns the figure in µs and whether the sample count supports it.
func (q Quantile) Value(l metrics.Latency) (float64, bool) {
	switch q {
	case P50:
		return l.P50Us, l.Count > 0
	case P99:
		return l.P99Us, l.Count >= MinSamplesP99
	case P999:
		return l.P999Us, l.Count >= MinSamplesP999
	}
	return l.MaxUs, l.Count > 0
}

// Micros prints a latency figure in µs, "-" without samples, or "n=27"
// where too few samples stand behind a tail percentile. Every printer uses
// it, so a figure never reads as more certain in one place than another.
func Micros(l metrics.Latency, q Quantile) string {
	v, ok := q.Value(l)
	switch {
	case l.Count == 0:
		return "-"
	case !ok:
		return fmt.Sprintf("n=%d", l.Count)
	}
	return fmt.Sprintf("%.0f", v)
}

// Percent prints a share such as OfCeiling, "-" when unknown.
func Percent(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// MinRepetitions is the fewest samples a per-repetition figure (a mean ±
// sd, the broker's load) should rest on before a printer stops showing its
// sample count beside it.
const MinRepetitions = 3

// MinWindowCommits is the fewest commits per repetition's window that a
// committing cell's latency and rate figures should rest on.
const MinWindowCommits = 20

// Caveats says, cell by cell, where a figure rests on too few samples to be
// read as the table prints it, and what would fix it.
func Caveats(cells []Cell) []string {
	var out []string
	fewReps := 0
	for _, c := range cells {
		if c.Interval.Kind() != "" && c.Commits.N > 0 && c.Commits.Mean < MinWindowCommits {
			out = append(out, fmt.Sprintf("%s: %.0f commits per repetition inside the measured window (fewer than %d): its commit rate and latency rest on few commits; raise topic.records or shorten the interval",
				c.Key, c.Commits.Mean, MinWindowCommits))
		}
		if c.Throughput.N > 0 && c.Throughput.N < MinRepetitions {
			fewReps++
		}
		if s := c.Scenario; s != nil {
			out = append(out, scenarioCaveats(c)...)
		}
		if s := c.Scenario; s != nil && s.IdleMembers > 0 {
			out = append(out, fmt.Sprintf("%s: %d of the group's %d members sit idle (the topic has fewer partitions than members)", c.Key, s.IdleMembers, s.Members))
		}
		// Kills closer together than the time interval: a killed worker
		// seldom lived to commit, so its replay measures the kill spacing.
		if cr := c.Crash; cr != nil && cr.Kills > 0 && c.Interval.Every > 0 && c.Throughput.Mean > 0 {
			perRep := float64(cr.Kills) / float64(len(c.Reps))
			spacing := time.Duration(float64(c.Reps[0].Topic.Records) / c.Throughput.Mean / (perRep + 1) * float64(time.Second))
			if spacing < 2*c.Interval.Every.D() {
				out = append(out, fmt.Sprintf("%s: kills landed about every %s, less than twice the %s interval: a killed worker seldom lived to commit, so replay measures the kill spacing; lengthen the topic or plan fewer kills",
					c.Key, spacing.Round(time.Millisecond), c.Interval.Every))
			}
		}
	}
	if fewReps > 0 {
		out = append(out, fmt.Sprintf("%d of %d cells ran fewer than %d repetitions: their ±sd says little about the spread; use repetitions: %d or more", fewReps, len(cells), MinRepetitions, MinRepetitions))
	}
	return out
}
