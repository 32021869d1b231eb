// Package table prints cell summaries as the aligned terminal table that
// ends `commitbench run`: one block per workload and broker.
package table

import (
	"fmt"
	"io"
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
			if last != "" {
				fmt.Fprintln(tw)
			}
			last = head
			fmt.Fprintf(tw, "workload %s on %s%s\n", c.Workload, c.Broker.Kind, delayNote(c.Broker.DelayNote()))
			fmt.Fprintln(tw, strings.Join([]string{"strategy", "interval", "reps", "records/s", "±sd", "%ceiling", "commits",
				"commit n", "p50 µs", "p99", "p99.9", "max", "crashes", "replay mean", "replay max", "lost", "dup effects", "recovery ms", "violations", ""}, "\t"))
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
