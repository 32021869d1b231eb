package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/gate"
	"github.com/commitbench/commitbench/bench/results"
)

const gateLong = `Compare a run's results with a recorded baseline, point by point
(workload/strategy/interval), and fail on a regression.

A metric regresses only if its median moved the bad way by more than its
threshold AND the Mann-Whitney U test over the repetitions gives p < alpha,
so noise does not fail a build. Gated metrics: throughput (records/s, drop),
commit latency p99 (rise) and mean recovery time after a crash (rise).
Defaults: alpha 0.05, 10% / 25% / 50%; override them per workload with
--config gates.yaml (see docs/gate.md). With too few repetitions for the
test ever to be significant (fewer than 4 per side at alpha 0.05) a metric
is reported as "insufficient samples" and NOT gated.

Correctness always fails the gate, without statistics: in the current run,
any loss under at-least-once or exactly-once, any duplicate under
exactly-once, a crash replaying or losing more than the strategy's bound,
or any violation the ledger recorded.

Baseline and current must be measured alike (workload, broker kind and
version, emulated commit delay, topic, processing, client and crash plan);
if not, the gate names the differing field and exits 2.

Exit codes:
  0  pass
  1  regression or correctness breach
  2  usage or input error: unreadable or malformed results or config,
     mismatched settings, or points missing on one side (unless
     --allow-missing)`

// newGateCmd builds "commitbench gate" and "commitbench gate record".
func newGateCmd() *cobra.Command {
	var (
		o            gate.Options
		format       string
		benchstatDir string
	)
	cmd := &cobra.Command{
		Use:   "gate --current <results> [--baseline <results>] [--config gates.yaml]",
		Short: "Fail a build when results regress against a baseline (exit 0 pass, 1 regression, 2 input error)",
		Long:  gateLong,
		Example: `  commitbench gate --current results/latest
  commitbench gate --baseline results/baseline --current results/latest --config results/baseline/gates.yaml --format markdown
  commitbench gate --current results/latest --benchstat-out /tmp/bs && benchstat /tmp/bs/baseline.txt /tmp/bs/current.txt`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Current == "" {
				return usageError(errors.New("--current is required: the results to judge (a results/<run-id> directory or its results.jsonl)"))
			}
			if !slices.Contains([]string{gate.FormatText, gate.FormatMarkdown, gate.FormatBenchstat}, format) {
				return usageError(fmt.Errorf("--format %q: use text, markdown or benchstat", format))
			}
			rep, err := gate.Run(o)
			if err != nil {
				return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate: %w", err)}
			}
			if benchstatDir != "" {
				if err := rep.WriteBenchstatFiles(benchstatDir); err != nil {
					return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate: %w", err)}
				}
			}
			if err := rep.Write(cmd.OutOrStdout(), format); err != nil {
				return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate: writing report: %w", err)}
			}
			if code := rep.ExitCode(); code != gate.ExitPass {
				return &exitError{code: code, err: errors.New("gate: " + rep.Summary())}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Baseline, "baseline", gate.BaselineDir, "baseline results: a directory holding results.jsonl, or the file")
	f.StringVar(&o.Current, "current", "", "results to judge: a results/<run-id> directory or its results.jsonl (required)")
	f.StringVar(&o.ConfigPath, "config", "", "gates.yaml with thresholds and per-workload overrides (default: built-in thresholds)")
	f.StringVar(&format, "format", gate.FormatText, "output: text (a table), markdown (for a pull-request comment) or benchstat (both sides' results as benchstat input; read with benchstat -col side)")
	f.StringVar(&benchstatDir, "benchstat-out", "", "also write baseline.txt and current.txt for benchstat into this directory")
	f.BoolVar(&o.AllowMissing, "allow-missing", false, "pass when points exist on one side only (they are still listed)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	cmd.AddCommand(newGateRecordCmd(), newGateABCmd())
	return cmd
}

// newGateRecordCmd builds "commitbench gate record", which stores a run as
// the baseline for the user to commit.
func newGateRecordCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "record <results>",
		Short: "Record a run's results as the baseline (" + gate.BaselineDir + "/results.jsonl) to commit",
		Long: `Copy a run's results (a results/<run-id> directory or its results.jsonl)
to <dir>/results.jsonl, atomically, after checking that they parse. Commit
the file; "commitbench gate" compares later runs with it.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("gate record takes one argument, the results to record; got %d", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dst, rs, err := gate.Record(args[0], dir)
			if err != nil {
				return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate record: %w", err)}
			}
			out := cmd.OutOrStdout()
			cells := results.ByCell(rs)
			fmt.Fprintf(out, "recorded %d results (%d points) as the baseline in %s; commit it\n", len(rs), len(cells), dst)
			need := gate.MinRepetitions(gate.DefaultLimits().Alpha)
			for _, c := range cells {
				if len(c.Reps) < need {
					fmt.Fprintf(out, "WARNING: %s has %d repetitions; the gate needs at least %d per side to detect a regression (set repetitions in the workload)\n", c.Key, len(c.Reps), need)
				}
			}
			for _, b := range gate.CheckCorrectness(rs) {
				fmt.Fprintf(out, "WARNING: the baseline itself breaks a guarantee: %s rep %d: %s: %s\n", b.Key, b.Repetition, b.Rule, b.Detail)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", gate.BaselineDir, "directory to record the baseline in")
	return cmd
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError(fmt.Errorf("%s takes flags only, not %q; see --help", cmd.CommandPath(), args[0]))
	}
	return nil
}

func usageError(err error) error { return &exitError{code: gate.ExitInput, err: err} }
