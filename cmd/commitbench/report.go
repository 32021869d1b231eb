package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/report"
	"github.com/commitbench/commitbench/bench/report/browser"
	"github.com/commitbench/commitbench/bench/results"
)

// newReportCmd writes a run's HTML report and Markdown summary.
func newReportCmd() *cobra.Command {
	var (
		ps         = report.DefaultPlan()
		out        string
		screenshot bool
		// capacityDir is a capacity sweep whose knee bounds the plan.
		capacityDir string
	)
	cmd := &cobra.Command{
		Use:   "report <results>",
		Short: "Write a run's HTML report and Markdown summary, with the cost model and a capacity plan",
		Long: fmt.Sprintf(`report writes report.html (self-contained: figures inline, tables, the run's
environment) and report.md (a summary for a pull request) into the results
directory. It fits throughput ≈ 1/(p + c/N) per strategy, flags points far
from the fit, sets the measured gain of batched commits against the domain's
10–30%% claim and maps where the model says it holds, and plans capacity:
per strategy, the largest interval within a duplicate budget, the consumers
a rate needs there and the commits the group sends the coordinator.
Without flags the plan is for %d records replayed per crash and half the
measured no-commit ceiling as the rate, and says so.
<results> is a run directory (results/<run-id>) or its results.jsonl.`, model.DefaultDupRecords),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := planFlags(cmd.Flags(), &ps); err != nil {
				return err
			}
			chromium := ""
			if screenshot {
				var err error
				if chromium, err = browser.Find(); err != nil {
					return fmt.Errorf("--screenshot: %w", err)
				}
			}
			rs, err := results.Read(args[0])
			if err != nil {
				return err
			}
			if capacityDir != "" {
				if ps.Budget.CoordinatorCommitsPerSec > 0 {
					return errors.New("--capacity and --coordinator-commits-per-sec both set the coordinator's capacity: give one")
				}
				knee, err := coordinatorKnee(capacityDir)
				if err != nil {
					return fmt.Errorf("--capacity %s: %w", capacityDir, err)
				}
				ps.Budget.CoordinatorCommitsPerSec = knee
				fmt.Fprintf(cmd.OutOrStdout(), "coordinator capacity from %s: %.0f commits/s (its lowest knee)\n", capacityDir, knee)
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
			paths, err := report.Write(dir, rs, ps)
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", p)
			}
			if ps.DefaultBudget || ps.DefaultRate {
				fmt.Fprintln(cmd.OutOrStdout(), "capacity plan on defaults (--dup-budget-records, --dup-budget-seconds, --rate set others)")
			}
			if screenshot {
				path, err := writeScreenshot(cmd, chromium, paths[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&ps.Budget.DupRecords, "dup-budget-records", model.DefaultDupRecords, "most records one crash may replay")
	f.Float64Var(&ps.Budget.DupSeconds, "dup-budget-seconds", 0, "most seconds of traffic one crash may replay (at --rate, else at each consumer's measured rate); alone, it replaces the default record budget")
	f.Float64Var(&ps.Budget.Rate, "rate", 0, "records/s the consumer group must sustain (default: half of each panel's measured ceiling; 0 plans no consumers)")
	f.Float64Var(&ps.Budget.CoordinatorCommitsPerSec, "coordinator-commits-per-sec", 0, "commits/s the group coordinator sustains, as commitbench capacity measures it (default: not measured)")
	f.StringVar(&capacityDir, "capacity", "", "a `commitbench capacity` run (results/<run-id>) whose lowest knee is the coordinator's capacity in the plan")
	f.StringVarP(&out, "out", "o", "", "directory for report.html and report.md (default: the results directory)")
	f.BoolVar(&screenshot, "screenshot", false, "also open report.html in headless Chromium, check every figure loaded, and save the whole page as report.png")
	return cmd
}

// screenshotFile is the screenshot --screenshot writes beside the report.
const screenshotFile = "report.png"

// writeScreenshot opens the written page in Chromium and saves the whole
// page beside it; a figure that did not load, or an error on the console,
// fails the command after the screenshot is saved.
func writeScreenshot(cmd *cobra.Command, chromium, page string) (string, error) {
	abs, err := filepath.Abs(page)
	if err != nil {
		return "", fmt.Errorf("--screenshot: %w", err)
	}
	profile, err := os.MkdirTemp("", "commitbench-chromium-")
	if err != nil {
		return "", fmt.Errorf("--screenshot: a profile directory for Chromium: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(profile); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "commitbench: --screenshot: Chromium's profile %s is left behind: %v\n", profile, err)
		}
	}()
	p, err := browser.Load(cmd.Context(), (&url.URL{Scheme: "file", Path: abs}).String(), browser.Options{ExecPath: chromium, UserDataDir: profile})
	if err != nil {
		return "", fmt.Errorf("--screenshot: %w", err)
	}
	path := filepath.Join(filepath.Dir(page), screenshotFile)
	if err := results.WriteFileAtomic(path, p.Screenshot); err != nil {
		return "", err
	}
	if probs := p.Problems(); len(probs) > 0 {
		return path, fmt.Errorf("--screenshot: %s looks broken in Chromium (%d problems; screenshot in %s): %s", page, len(probs), path, strings.Join(probs, "; "))
	}
	return path, nil
}

// planFlags validates the plan's flags and marks which were left at their
// defaults. A budget given in seconds alone replaces the default budget
// in records.
func planFlags(f *pflag.FlagSet, ps *report.PlanSettings) error {
	for _, c := range []struct {
		name, fix string
		v         float64
		zeroOK    bool
	}{
		{"dup-budget-records", "give the most records one crash may replay", ps.Budget.DupRecords, f.Changed("dup-budget-seconds")},
		{"dup-budget-seconds", "give the most seconds of traffic one crash may replay", ps.Budget.DupSeconds, true},
		{"rate", "give the records/s the group must sustain, 0 to plan no consumers, or leave it out for half the measured ceiling", ps.Budget.Rate, true},
		{"coordinator-commits-per-sec", "give the commits/s the coordinator sustains (commitbench capacity measures it), or leave it out", ps.Budget.CoordinatorCommitsPerSec, true},
	} {
		switch {
		case c.v < 0:
			return fmt.Errorf("--%s %g: must not be negative; %s", c.name, c.v, c.fix)
		case c.v == 0 && !c.zeroOK && f.Changed(c.name):
			return fmt.Errorf("--%s 0: a capacity plan needs a duplicate budget; %s, or leave it out for the default %d", c.name, c.fix, model.DefaultDupRecords)
		}
	}
	records, seconds := f.Changed("dup-budget-records"), f.Changed("dup-budget-seconds")
	if seconds && !records {
		ps.Budget.DupRecords = 0
	}
	if seconds && ps.Budget.DupSeconds == 0 && ps.Budget.DupRecords == 0 {
		return fmt.Errorf("--dup-budget-seconds 0: a capacity plan needs a duplicate budget; give the most seconds of traffic one crash may replay, or leave it out for the default %d records", model.DefaultDupRecords)
	}
	ps.DefaultBudget = !records && !seconds
	ps.DefaultRate = !f.Changed("rate")
	return nil
}

// coordinatorKnee is the lowest knee a capacity sweep found: the commit
// rate past which the coordinator's p99 doubled or commits failed.
func coordinatorKnee(dir string) (float64, error) {
	steps, err := results.ReadCapacity(dir)
	if err != nil {
		return 0, err
	}
	knee := 0.0
	for _, k := range results.Knees(steps) {
		if k.Found && (knee == 0 || k.AtCommitsPerSec < knee) {
			knee = k.AtCommitsPerSec
		}
	}
	if knee == 0 {
		return 0, errors.New("the sweep found no knee, so it bounds nothing: drive higher rates (--rates), or leave --capacity out")
	}
	return knee, nil
}
