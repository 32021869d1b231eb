// Package table prints cell summaries as the aligned terminal table that
// ends `commitbench run`: one block per workload and broker.
package table

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/commitbench/commitbench/bench/summary"
)

// Print writes cells as an aligned table, one block per workload and broker.
func Print(w io.Writer, cells []summary.Cell) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	last := ""
	for _, c := range cells {
		if head := c.Workload + "\x00" + c.Broker.Label(); head != last {
			block(tw, last != "", fmt.Sprintf("workload %s on %s%s", c.Workload, c.Broker.Kind, delayNote(c.Broker.DelayNote())), "strategy", "interval", "reps", "records/s", "±sd", "%ceiling", "commits",
				"commit n", "p50 µs", "p99", "p99.9", "max", "crashes", "replay mean", "replay max", "lost", "dup effects", "recovery ms", "violations", "")
			last = head
		}
		cr := c.Crash
		if cr == nil {
			cr = &summary.Crashes{}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%s\t%.0f\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n",
			c.Strategy, c.Label(), c.Throughput.N, c.Throughput.Mean, c.Throughput.SD, summary.Percent(c.OfCeiling), c.Commits.Mean,
			c.Commit.Count, summary.Micros(c.Commit, summary.P50), summary.Micros(c.Commit, summary.P99),
			summary.Micros(c.Commit, summary.P999), summary.Micros(c.Commit, summary.Max),
			cr.Kills, crashF(cr.Kills, "%.1f", cr.ReplayMean), crashF(cr.Kills, "%.0f", float64(cr.ReplayMax)),
			crashF(cr.Kills, "%.0f", float64(cr.Lost)), crashF(cr.Kills, "%.0f", float64(cr.Duplicates)),
			crashF(cr.RecoveryN, "%.1f", cr.RecoveryMeanMs), c.Breaches)
	}
	return tw.Flush()
}

func delayNote(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

func crashF(n int, format string, v float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// PrintScenarios writes the cells that ran a consumer group's scenario
// phase as a second table: per event, what it cost the group. It writes
// nothing when no cell did.
func PrintScenarios(w io.Writer, cells []summary.Cell) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	last := ""
	for _, c := range cells {
		s := c.Scenario
		if s == nil {
			continue
		}
		if head := c.Workload + "\x00" + c.Broker.Label(); head != last {
			block(tw, last != "", fmt.Sprintf("scenarios of workload %s on %s (per event; counts asserted from the shared ledger)", c.Workload, c.Broker.Kind), "strategy", "interval", "group", "members", "events", "n", "group rec/s",
				"dup/event", "max", "rebalance ms", "gap sum ms", "gap max ms", "moved", "rejected commits", "zombie rec", "lost", "dup effects", "")
			last = head
		}
		members := fmt.Sprint(s.Members)
		if s.IdleMembers > 0 {
			members += fmt.Sprintf(" (%d idle)", s.IdleMembers)
		}
		rejected := Counts(s.Rejected)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n",
			c.Strategy, c.Label(), s.Group, members, strings.Join(s.Events, "+"), s.DupPerEvent.N, s.RecordsPerSec.Mean,
			stat(s.DupPerEvent, "%.0f"), stat(Stat{Mean: s.DupPerEvent.Max, N: s.DupPerEvent.N}, "%.0f"),
			stat(s.RebalanceMs, "%.0f"), stat(s.GapSumMs, "%.0f"), stat(Stat{Mean: s.GapMaxMs.Max, N: s.GapMaxMs.N}, "%.0f"),
			stat(s.Moved, "%.1f"), rejected, stat(s.Zombie, "%.0f"), s.Lost, s.Duplicates)
	}
	return tw.Flush()
}

// Stat is summary.Stat, for the printing helper.
type Stat = summary.Stat

func stat(s Stat, format string) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf(format, s.Mean)
}

// PrintFaults writes, for the cells whose scenario had faults, one row per
// fault kind: what the faults of that kind cost the group. It writes
// nothing when no cell had one.
func PrintFaults(w io.Writer, cells []summary.Cell) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	last := ""
	for _, c := range cells {
		if c.Scenario == nil || len(c.Scenario.Faults) == 0 {
			continue
		}
		if head := c.Workload + "\x00" + c.Broker.Label(); head != last {
			block(tw, last != "", fmt.Sprintf("faults of workload %s on %s (per fault; lost is the whole scenario's)", c.Workload, c.Broker.Kind), "strategy", "interval", "group", "fault", "n", "replayed", "no progress ms", "max",
				"recovery ms", "injected / moved", "failed commits", "members failed", "lost", "")
			last = head
		}
		for _, f := range c.Scenario.Faults {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n",
				c.Strategy, c.Label(), c.Scenario.Group, f.Label(), f.NoProgressMs.N, stat(f.Replayed, "%.0f"),
				stat(f.NoProgressMs, "%.0f"), stat(Stat{Mean: f.NoProgressMs.Max, N: f.NoProgressMs.N}, "%.0f"),
				stat(f.RecoveryMs, "%.0f"), f.Did(), Counts(f.Surfaced), f.MembersFailed, c.Scenario.Lost)
		}
	}
	return tw.Flush()
}

// Counts prints counts by name: their total, then each ("4 NETWORK:4").
func Counts(m map[string]int64) string {
	var n int64
	for _, v := range m {
		n += v
	}
	out := fmt.Sprint(n)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out += fmt.Sprintf(" %s:%d", name, m[name])
	}
	return out
}

// block starts a table block: a blank line after the one before (more),
// its title, then its columns (ending in "" for tabwriter's last cell).
func block(tw io.Writer, more bool, title string, cols ...string) {
	if more {
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, title)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
}
