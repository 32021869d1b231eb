package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/anchor"
	"github.com/commitbench/commitbench/bench/spec"
)

// newAnchorCmd sets commitbench beside two consumers nobody can accuse of
// being the harness: a bare franz-go loop with the same settings (the
// harness's own overhead) and Apache Kafka's ConsumerPerformance.
func newAnchorCmd() *cobra.Command {
	var (
		kind         string
		nodes        int
		records      int64
		partitions   int32
		recordBytes  int
		reps         int
		cpuUs        float64
		consumerPerf bool
		bare         bool
	)
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Measure the harness's overhead against a bare franz-go loop, and set Kafka's ConsumerPerformance beside it",
		Long: `anchor seeds one topic, then runs commitbench's none (no commits) and
at-least-once-sync every 1,000 records on it, each followed by a bare
franz-go consumer loop with the same settings and group protocol (a process
of its own, as the worker is) and, after none, Apache Kafka's
ConsumerPerformance (kafka-tools, from the jars scripts/kafka.sh fetch
resolves) with the workload's fetch settings. Runs alternate, so the
machine's drift falls on every consumer alike. All three leave their
warm-up (the first tenth) out. It prints the rates with their spread and a
line "harness overhead: …" per strategy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := spec.Parse(fmt.Appendf(nil, `
name: anchor
broker: {kind: %s, nodes: %d}
topic: {partitions: %d, records: %d, record_bytes: %d}
processing: {cpu_us: %g}
strategies: [none, at-least-once-sync]
intervals: [{records: 1000}]
repetitions: %d
crashes: {per_point: 0}
`, kind, nodes, partitions, records, recordBytes, cpuUs, reps))
			if err != nil {
				return fmt.Errorf("anchor: %w", err)
			}
			return anchor.Compare(cmd.Context(), w, anchor.CompareOptions{ConsumerPerf: consumerPerf, Bare: bare}, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "broker", "local", "broker kind: local, container, embedded")
	fl.IntVar(&nodes, "nodes", 0, "local broker nodes (1 or 3)")
	fl.Int64Var(&records, "records", 10_000_000, "records in the topic (large enough that a JVM's warm-up is a small part of ConsumerPerformance's run)")
	fl.Int32Var(&partitions, "partitions", 8, "partitions of the topic")
	fl.IntVar(&recordBytes, "record-bytes", 100, "record value size")
	fl.IntVar(&reps, "repetitions", 3, "runs of each consumer, alternating")
	fl.Float64Var(&cpuUs, "cpu-us", 0, "CPU spent per record by commitbench's worker and the bare loop alike")
	fl.BoolVar(&consumerPerf, "consumer-perf", true, "also run Kafka's ConsumerPerformance (needs Java and `make kafka`)")
	fl.BoolVar(&bare, "bare", true, "also run the bare franz-go loop, for the harness overhead")
	return cmd
}
