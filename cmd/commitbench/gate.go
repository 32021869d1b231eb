package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/gate"
	"github.com/commitbench/commitbench/bench/results"
)

const gateLong = `Compare a run's results with a recorded baseline, point by point
(workload/strategy/interval), and fail on a regression.

The baseline holds two or more earlier runs (gate record RUN1 RUN2 …). For
each metric the gate takes the change of the current run's geometric mean
over the baseline's, with a 95% confidence interval from the spread within
the runs. A metric regresses only when the whole interval lies beyond its
limit AND beyond the drift between the baseline's runs of unchanged code;
where the interval straddles the limit it is "inconclusive" (exit 0 unless
--strict). Gated by default: throughput as a share of the ceiling (the
` + "`none`" + ` cell of the same run and repetition, so the machine's speed cancels;
10% drop) and mean recovery time after a crash (50% rise). Absolute
throughput and commit latency p99 are shown, and gated with --absolute
(or in gate ab, where both sides share the machine's state). Override
the limits per workload with --config gates.yaml (see docs/gate.md).

Correctness always fails the gate, without statistics: in the current run,
any loss under at-least-once or exactly-once, any duplicate under
exactly-once, a crash replaying or losing more than the strategy's bound,
or any violation the ledger recorded.

Baseline and current must be measured alike (workload, broker kind and
version, emulated commit delay, topic, processing, client, sink, warm-up
and crash plan); if not, the gate names the differing field and exits 2.

Exit codes:
  0  pass
  1  regression or correctness breach (or an inconclusive metric, --strict)
  2  usage or input error: unreadable or malformed results or config,
     mismatched settings, or points missing on one side (unless
     --allow-missing)`

// newGateCmd builds "commitbench gate" and "commitbench gate record".
func newGateCmd() *cobra.Command {
	var (
		o            gate.Options
		format       string
		benchstatDir string
		junit        string
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
			if junit != "" {
				var buf bytes.Buffer
				if err := rep.WriteJUnit(&buf); err != nil {
					return err
				}
				if err := results.WriteFileAtomic(junit, buf.Bytes()); err != nil {
					return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate: --junit: %w", err)}
				}
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
	f.BoolVar(&o.Strict, "strict", false, "fail on an inconclusive metric too")
	f.BoolVar(&o.Absolute, "absolute", false, "also gate absolute throughput and commit p99 against the stored baseline (a dedicated machine whose speed does not drift)")
	f.StringVar(&junit, "junit", "", "also write the verdicts as JUnit XML to this file (written atomically)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	cmd.AddCommand(newGateRecordCmd(), newGateABCmd())
	return cmd
}

// newGateRecordCmd builds "commitbench gate record", which stores a run as
// the baseline for the user to commit.
func newGateRecordCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "record <results> <results> [<results> …]",
		Short: "Record two or more runs as the baseline (" + gate.BaselineDir + "/results.jsonl) to commit",
		Long: `Write two or more runs' results (results/<run-id> directories or their
results.jsonl) to <dir>/results.jsonl, atomically, after checking that they
parse and were measured alike. The drift between the runs — how far runs of
unchanged code differ on this machine — is what the gate allows for beyond
its limits; record the runs on the machine kind that runs the gate, at
different times. Commit the file; "commitbench gate" compares later runs
with it.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < gate.MinBaselineRuns {
				return usageError(fmt.Errorf("gate record takes %d or more runs to record (their drift is what the gate allows for); got %d: run the workload again and give both", gate.MinBaselineRuns, len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dst, rs, err := gate.Record(args, dir)
			if err != nil {
				return &exitError{code: gate.ExitInput, err: fmt.Errorf("gate record: %w", err)}
			}
			out := cmd.OutOrStdout()
			cells := results.ByCell(rs)
			fmt.Fprintf(out, "recorded %d results (%d points, %d runs) as the baseline in %s; commit it\n", len(rs), len(cells), len(args), dst)
			for _, d := range gate.Drifts(rs) {
				fmt.Fprintf(out, "  %s: drift between runs", d.Key)
				for _, name := range slices.Sorted(maps.Keys(d.ByPct)) {
					fmt.Fprintf(out, " %s %.1f%%", name, d.ByPct[name])
				}
				fmt.Fprintln(out)
			}
			for _, c := range cells {
				for _, id := range gate.RunIDs(c.Reps) {
					n := 0
					for _, r := range c.Reps {
						if r.RunID == id {
							n++
						}
					}
					if n < gate.MinRepetitions {
						fmt.Fprintf(out, "WARNING: %s has %d repetitions in run %s; the gate needs at least %d per run to judge it (set repetitions in the workload)\n", c.Key, n, id, gate.MinRepetitions)
					}
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
