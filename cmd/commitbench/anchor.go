package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/anchor"
	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
)

// newAnchorCmd sets commitbench's no-commit consumer beside Apache Kafka's
// own ConsumerPerformance on the same broker and topic, so a user can see
// that the harness is not the bottleneck.
func newAnchorCmd() *cobra.Command {
	var (
		kind        string
		nodes       int
		records     int64
		partitions  int32
		recordBytes int
		reps        int
	)
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Compare commitbench's no-commit ceiling with Kafka's ConsumerPerformance on one topic",
		Long: `anchor seeds one topic, then alternates commitbench's none strategy (no
processing cost, no commits) and Apache Kafka's ConsumerPerformance
(kafka-tools, from the jars scripts/kafka.sh fetch resolves) on it, and
prints both rates and their ratio. ConsumerPerformance's fetch rate leaves
out its group join, as commitbench's steady state leaves out its warm-up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := spec.Parse(fmt.Appendf(nil, `
name: anchor
broker: {kind: %s, nodes: %d}
topic: {partitions: %d, records: %d, record_bytes: %d}
processing: {cpu_us: 0}
strategies: [none]
repetitions: %d
crashes: {per_point: 0}
`, kind, nodes, partitions, records, recordBytes, reps))
			if err != nil {
				return fmt.Errorf("anchor: %w", err)
			}
			return runAnchor(cmd.Context(), cmd, w)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "broker", "local", "broker kind: local, container, embedded")
	fl.IntVar(&nodes, "nodes", 0, "local broker nodes (1 or 3)")
	fl.Int64Var(&records, "records", 1_000_000, "records in the topic")
	fl.Int32Var(&partitions, "partitions", 8, "partitions of the topic")
	fl.IntVar(&recordBytes, "record-bytes", 100, "record value size")
	fl.IntVar(&reps, "repetitions", 3, "runs of each consumer, alternating")
	return cmd
}

func runAnchor(ctx context.Context, cmd *cobra.Command, w *spec.Workload) error {
	libs, version, err := broker.KafkaLibs("")
	if err != nil {
		return err
	}
	b, err := broker.Start(ctx, w.Broker.Kind, broker.Options{Nodes: w.Broker.Nodes})
	if err != nil {
		return err
	}
	defer b.Close()
	runID := results.NewRunID(time.Now())
	r := runner.New(w, b, runID, runner.WithStallTimeout(2*time.Minute))
	if err := r.Prepare(ctx); err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	points, _ := w.Plan()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "anchor on %s: %d records × %d B in %d partitions; ConsumerPerformance from Kafka %s\n",
		b.Describe().Label(), w.Topic.Records, w.Topic.RecordBytes, w.Topic.Partitions, version)
	var ours, theirs, theirsAll []float64
	for i, p := range points {
		res, err := r.Point(ctx, p)
		if err != nil {
			return err
		}
		ours = append(ours, res.Throughput.RecordsPerSec)
		actx, cancel := context.WithTimeout(ctx, anchor.Timeout(w.Topic.Records))
		cp, err := anchor.Run(actx, anchor.Options{
			Libs: libs, Bootstrap: r.Conn().Bootstrap, Topic: r.Topic(),
			Group: fmt.Sprintf("commitbench-anchor-%s-%d", runID, i), Records: w.Topic.Records,
			FetchSize: w.Client.FetchMaxPartitionBytes,
		})
		cancel()
		if err != nil {
			return err
		}
		theirs = append(theirs, cp.FetchRecordsPerSec)
		theirsAll = append(theirsAll, cp.RecordsPerSec)
		fmt.Fprintf(out, "  run %d: commitbench none %.0f records/s; ConsumerPerformance %.0f records/s fetching (%.0f with its %0.f ms group join)\n",
			i+1, res.Throughput.RecordsPerSec, cp.FetchRecordsPerSec, cp.RecordsPerSec, cp.RebalanceMs)
	}
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tconsumer\trecords/s mean\t±sd\t")
	fmt.Fprintf(tw, "\tcommitbench none (steady state)\t%.0f\t%.0f\t\n", metrics.Mean(ours), metrics.StdDev(ours))
	fmt.Fprintf(tw, "\tConsumerPerformance (fetch)\t%.0f\t%.0f\t\n", metrics.Mean(theirs), metrics.StdDev(theirs))
	fmt.Fprintf(tw, "\tConsumerPerformance (whole run)\t%.0f\t%.0f\t\n", metrics.Mean(theirsAll), metrics.StdDev(theirsAll))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "ConsumerPerformance / commitbench: %.2f\n", metrics.Mean(theirs)/metrics.Mean(ours))
	return nil
}
