package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/plot"
	"github.com/commitbench/commitbench/bench/results"
)

// newPlotCmd draws a run's trade-off curves as PNG and SVG files.
func newPlotCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "plot <results>",
		Short: "Draw a run's trade-off curves (PNG and SVG) into plots/<run-id>/",
		Long: `plot draws, per workload and broker, throughput, commit latency percentiles,
replay and loss per crash against the commit interval (count and time
intervals on their own figures), the throughput/replay frontier, and the
commit-latency distribution per strategy, with the fitted cost model.
<results> is a run directory (results/<run-id>) or its results.jsonl.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := results.Read(args[0])
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = filepath.Join("plots", rs[0].RunID)
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			set, err := plot.FromResults(rs)
			if err != nil {
				return err
			}
			paths, err := plot.Write(dir, set.Figures)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d figures (%d files) to %s\n", len(set.Figures), len(paths), dir)
			for _, n := range set.Notes {
				fmt.Fprintln(cmd.OutOrStdout(), "  "+n)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory for the figures (default plots/<run-id>)")
	return cmd
}
