package table

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/summary"
)

// Capacity writes a coordinator capacity sweep's steps as an aligned
// table, one block per broker, then every series' knee.
func Capacity(w io.Writer, steps []results.CapacityStep) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	last := ""
	for _, s := range steps {
		if head := s.Broker.Label() + "\x00" + s.Loop; head != last {
			if last != "" {
				fmt.Fprintln(tw)
			}
			last = head
			fmt.Fprintf(tw, "coordinator capacity on %s%s, %s loop\n", s.Broker.Kind, delayNote(s.Broker.DelayNote()), s.Loop)
			if s.Broker.Note != "" {
				fmt.Fprintf(tw, "note: %s\n", s.Broker.Note)
			}
			if s.BrokerCPUScope != "" {
				fmt.Fprintf(tw, "broker CPU: %s\n", s.BrokerCPUScope)
			}
			fmt.Fprintln(tw, strings.Join([]string{"series", "target/s", "sent/s", "commits/s", "n", "p50 µs", "p99", "p99.9", "max",
				"service p99", "send lag p99", "failed", "cpu ms/1k", "offsets rec/commit", "bytes/commit", ""}, "\t"))
		}
		l := s.IntendedLatency
		sent := fmt.Sprintf("%.0f", s.SentPerSec)
		if !s.SenderKeptUp {
			sent += " (short)"
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Series, s.TargetCommitsPerSec, sent, s.CommitsPerSec, l.Count,
			summary.Micros(l, summary.P50), summary.Micros(l, summary.P99), summary.Micros(l, summary.P999), summary.Micros(l, summary.Max),
			summary.Micros(s.ServiceLatency, summary.P99), summary.Micros(s.SendLag, summary.P99),
			failed(s), opt(s.BrokerCPUMsPer1kCommits, "%.1f"), opt(s.OffsetsTopicRecordsPerCommit, "%.2f"), opt(s.OffsetsTopicBytesPerCommit, "%.0f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(steps) > 0 {
		fmt.Fprintln(w, "latencies are measured from each commit's intended send time; service p99 from when it was sent")
	}
	for _, k := range results.Knees(steps) {
		if _, err := fmt.Fprintln(w, k); err != nil {
			return err
		}
	}
	return nil
}

// failed prints a step's failed commits with their errors, most first.
func failed(s results.CapacityStep) string {
	if s.Failed == 0 {
		return "0"
	}
	names := slices.SortedFunc(maps.Keys(s.FailedByError), func(a, b string) int {
		if d := s.FailedByError[b] - s.FailedByError[a]; d != 0 {
			return int(d)
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, s.FailedByError[n])
	}
	return fmt.Sprintf("%d (%s)", s.Failed, strings.Join(parts, ", "))
}

func opt(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}
