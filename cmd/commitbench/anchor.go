package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/anchor"
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
			return anchor.Compare(cmd.Context(), w, cmd.OutOrStdout())
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
