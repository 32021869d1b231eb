package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/report"
	"github.com/commitbench/commitbench/bench/results"
)

// newReportCmd writes a run's HTML report and Markdown summary.
func newReportCmd() *cobra.Command {
	var (
		budget model.Budget
		out    string
	)
	cmd := &cobra.Command{
		Use:   "report <results>",
		Short: "Write a run's HTML report and Markdown summary, with the cost model and a capacity plan",
		Long: `report writes report.html (self-contained: figures inline, tables, the run's
environment) and report.md (a summary for a pull request) into the results
directory. It fits throughput ≈ 1/(p + c/N) per strategy, flags points far
from the fit, sets the measured gain of batched commits against the domain's
10–30% claim and, given a duplicate budget, recommends count and time
intervals and the consumers a rate needs.
<results> is a run directory (results/<run-id>) or its results.jsonl.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if budget.DupRecords < 0 || budget.DupSeconds < 0 || budget.Rate < 0 {
				return fmt.Errorf("--dup-budget-records, --dup-budget-seconds and --rate must not be negative")
			}
			rs, err := results.Read(args[0])
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = args[0]
				if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
					dir = filepath.Dir(dir)
				}
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			paths, err := report.Write(dir, rs, budget)
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", p)
			}
			if budget.Empty() {
				fmt.Fprintln(cmd.OutOrStdout(), "no capacity plan: give --dup-budget-records or --dup-budget-seconds (and --rate) for one")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&budget.DupRecords, "dup-budget-records", 0, "most records one crash may replay")
	f.Float64Var(&budget.DupSeconds, "dup-budget-seconds", 0, "most seconds of traffic one crash may replay (at --rate, else at each consumer's measured rate)")
	f.Float64Var(&budget.Rate, "rate", 0, "records/s the consumer group must sustain; plans the consumers and partitions")
	f.StringVarP(&out, "out", "o", "", "directory for report.html and report.md (default: the results directory)")
	return cmd
}
