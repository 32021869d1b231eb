package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/gate"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/sweep"
)

// abFlags are the flags of "commitbench gate ab".
type abFlags struct {
	sets       []string
	bin        string
	brokerKind string
	image      string
	junit      string
	resultsDir string
	config     string
	strict     bool
	reps       int
}

// newGateABCmd builds "commitbench gate ab": baseline and candidate run
// interleaved on one broker and topic, then judged pair by pair.
func newGateABCmd() *cobra.Command {
	var f abFlags
	cmd := &cobra.Command{
		Use:   "ab [flags] workload.yaml",
		Short: "Run a baseline and a candidate interleaved (A B A B …) and gate the candidate on the paired results",
		Long: `gate ab runs the workload twice over, interleaved point by point on one
broker and one topic — the baseline (A) and a candidate (B) that differs by
--candidate-set settings, --candidate-bin (another commitbench build runs
B's workers) and/or --candidate-broker / --candidate-image (another broker
kind, Kafka image or version) — and compares each repetition's pair. Both
sides share one broker and topic unless their brokers differ (a different
embedded commit delay is held per side on the one broker). With nothing
different it is an A/A run. A metric regresses only when the 95%
confidence interval of its paired change lies wholly beyond its limit;
where the interval straddles the limit it is "inconclusive" (exit 0 unless
--strict). Correctness breaches on either side fail whatever the
statistics. Results go to results/<run-id>/a and /b.

Exit status: 0 pass, 1 regression or breach, 2 usage or input error.`,
		Example: `  commitbench gate ab workloads/gate.yaml
  commitbench gate ab --candidate-set processing.cpu_us=2.6 workloads/gate.yaml
  commitbench gate ab --candidate-set broker.commit_delay=500us workloads/gate.yaml
  commitbench gate ab --candidate-bin ./base/bin/commitbench --junit gate.xml workloads/gate.yaml
  commitbench gate ab --candidate-broker container --candidate-image localhost/commitbench-kafka:4.3.0 workloads/gate.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGateAB(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.sets, "candidate-set", nil, "a setting the candidate differs by, path=value (repeatable), e.g. processing.cpu_us=3")
	fl.StringVar(&f.bin, "candidate-bin", "", "another commitbench build whose workers run the candidate (e.g. the base branch's)")
	fl.StringVar(&f.brokerKind, "candidate-broker", "", "the candidate's broker kind (embedded, local, container, external): the same as --candidate-set broker.kind=KIND")
	fl.StringVar(&f.image, "candidate-image", "", "the candidate's Kafka image (another Kafka version), with --candidate-broker container")
	fl.StringVar(&f.junit, "junit", "", "also write the verdicts as JUnit XML to this file (written atomically)")
	fl.StringVar(&f.resultsDir, "results", "results", "directory that receives results/<run-id>/a and /b")
	fl.StringVar(&f.config, "config", "", "gates.yaml with thresholds (default: built-in thresholds)")
	fl.BoolVar(&f.strict, "strict", false, "fail on an inconclusive metric too")
	fl.IntVar(&f.reps, "repetitions", 0, "override the workload's repetitions (pairs per point)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	return cmd
}

func runGateAB(ctx context.Context, stdout, stderr io.Writer, file string, f abFlags) error {
	// Everything is checked before anything runs.
	a, err := spec.Load(file)
	if err != nil {
		return usageError(err)
	}
	if f.reps > 0 {
		a.Repetitions = f.reps
		if err := a.Validate(); err != nil {
			return usageError(err)
		}
	}
	sets := f.sets
	if f.brokerKind != "" {
		sets = append(slices.Clone(sets), "broker.kind="+f.brokerKind)
	}
	b, err := a.With(sets)
	if err != nil {
		return usageError(fmt.Errorf("--candidate-set: %w", err))
	}
	if f.image != "" && b.Broker.Kind != "container" {
		return usageError(fmt.Errorf("--candidate-image %s: the candidate's broker is %s; add --candidate-broker container", f.image, b.Broker.Kind))
	}
	if err := sameTarget(a, b); err != nil {
		return usageError(err)
	}
	cfg, err := gate.LoadConfig(f.config)
	if err != nil {
		return usageError(err)
	}
	o := sweep.ABOptions{Options: sweep.Options{ResultsDir: f.resultsDir, StallTimeout: time.Minute, Log: stderr}, Progress: stderr}
	o.CandidateBroker.Container.Image = f.image
	if f.bin != "" {
		if o.CandidateWorker, err = workerAt(f.bin); err != nil {
			return usageError(err)
		}
	}
	out, err := sweep.AB(ctx, a, b, o)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: 130, err: errors.New("interrupted; finished points are kept")}
		}
		return err
	}
	rep, err := gate.ComparePaired(out.A, out.B, cfg.For(a.Name))
	if err != nil {
		return &exitError{code: gate.ExitInput, err: err}
	}
	rep.Strict = f.strict
	fmt.Fprintf(stdout, "A/B run %s: %d points per side, candidate %s\n", out.Dir, out.Planned, describeCandidate(f))
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if f.junit != "" {
		var buf bytes.Buffer
		if err := rep.WriteJUnit(&buf); err != nil {
			return err
		}
		if err := results.WriteFileAtomic(f.junit, buf.Bytes()); err != nil {
			return err
		}
	}
	if code := rep.ExitCode(); code != gate.ExitPass {
		return &exitError{code: code, err: errors.New("gate ab: " + rep.Summary())}
	}
	return nil
}

// sameTarget refuses candidates that would consume another topic shape or
// measure another window: the pairs would not be pairs.
func sameTarget(a, b *spec.Workload) error {
	ta, _ := json.Marshal(a.Topic)
	tb, _ := json.Marshal(b.Topic)
	if !bytes.Equal(ta, tb) || a.WarmupRecords != b.WarmupRecords {
		return errors.New("--candidate-set: topic.* and warmup_records must be the same on both sides of an A/B run (each pair consumes one topic shape over one window)")
	}
	return nil
}

// workerAt runs another build's workers: `PATH worker`.
func workerAt(bin string) (runner.WorkerCommand, error) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("--candidate-bin %s: %w", bin, err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("--candidate-bin %s: not an executable file", bin)
	}
	return func(context.Context) *exec.Cmd { return exec.Command(bin, "worker") }, nil
}

func describeCandidate(f abFlags) string {
	var parts []string
	if len(f.sets) > 0 {
		parts = append(parts, fmt.Sprintf("%v", f.sets))
	}
	if f.brokerKind != "" {
		parts = append(parts, "broker "+f.brokerKind)
	}
	if f.image != "" {
		parts = append(parts, "image "+f.image)
	}
	if f.bin != "" {
		parts = append(parts, "workers of "+f.bin)
	}
	if len(parts) == 0 {
		return "identical (an A/A run)"
	}
	return strings.Join(parts, ", ")
}
