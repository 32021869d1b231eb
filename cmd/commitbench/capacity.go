package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/commitbench/commitbench/bench/capacity"
	"github.com/commitbench/commitbench/bench/promexport"
	"github.com/commitbench/commitbench/bench/spec"
)

// capacityFlags are the overrides `capacity` accepts on top of its file
// (or the default sweep); set lists the flags the user gave.
type capacityFlags struct {
	set           map[string]bool
	broker        string
	nodes         int
	commitDelay   time.Duration
	groups        []int
	partitions    []int
	rates         []float64
	stepDuration  time.Duration
	warmup        time.Duration
	commitTimeout time.Duration
	resultsDir    string
	runID         string
	keepTopics    bool
	closedLoop    bool
	quiet         bool
	metricsAddr   string
}

func newCapacityCmd() *cobra.Command {
	var f capacityFlags
	cmd := &cobra.Command{
		Use:   "capacity [flags] [capacity.yaml]",
		Short: "Drive the group coordinator with many committers, step by step up a list of commit rates, and find its knee",
		Long: `capacity drives the broker's group coordinator with lightweight
committers — one consumer group each, committing offsets through the
OffsetCommit API without joining the group or consuming — at each of a list
of aggregate commit rates, for every number of groups and partitions per
commit. The committers run an open loop: each commit is sent at its
scheduled time whether the earlier ones were answered or not, and latency is
measured from that intended time, so a stalled coordinator is not hidden.
Each step reports commit latency (p50/p99/p99.9 with sample counts), failed
commits by Kafka error, achieved against target rate, the broker's CPU per
1,000 commits and what __consumer_offsets grew per commit where the broker
can tell, and each series' knee: the lowest rate whose p99 is at least
twice the lowest rate's, or where commits start failing. A rate this
machine's committers cannot send is reported as such, not as a knee.

The file (optional) holds broker: and capacity: sections (docs/capacity.md);
flags override it. Steps go to results/<run-id>/capacity.jsonl, rewritten
atomically after every step; results/latest-capacity points at the run.

Exit status: 0 done, 1 error (bad input, broker unreachable), 130
interrupted (finished steps are kept).`,
		Example: "  commitbench capacity --commit-delay 2ms --groups 8 --rates 250,500,1000,2000,4000\n" +
			"  commitbench capacity --broker local --groups 16,128 --partitions-per-commit 1,8\n" +
			"  commitbench capacity workloads/capacity/embedded.yaml",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.set = map[string]bool{}
			cmd.Flags().Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
			return runCapacity(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.broker, "broker", "", "broker kind: embedded (default), local, container or external (external needs a file with broker.bootstrap)")
	fl.IntVar(&f.nodes, "nodes", 0, "local broker: 1 node, or 3 with replicated offsets")
	fl.DurationVar(&f.commitDelay, "commit-delay", 0, "embedded broker: hold every OffsetCommit this long (e.g. 2ms) to emulate a remote coordinator")
	fl.IntSliceVar(&f.groups, "groups", nil, "committers (one consumer group each), a list for several series (default 8)")
	fl.IntSliceVar(&f.partitions, "partitions-per-commit", nil, "partitions each OffsetCommit carries, a list for several series (default 1)")
	fl.Float64SliceVar(&f.rates, "rates", nil, "aggregate target commit rates, commits/s (default 100,200,500,1000,2000,5000)")
	fl.DurationVar(&f.stepDuration, "step-duration", 0, "how long each rate is held (default 10s)")
	fl.DurationVar(&f.warmup, "warmup", 0, "start of each step left out of its figures (default a tenth of the step)")
	fl.DurationVar(&f.commitTimeout, "commit-timeout", 0, "fail a commit with no answer this long after it was sent (default 10s)")
	fl.StringVar(&f.resultsDir, "results", "results", "directory that receives results/<run-id>/")
	fl.StringVar(&f.runID, "run-id", "", "name of this run's directory (default: a timestamp)")
	fl.BoolVar(&f.keepTopics, "keep-topics", false, "leave the sweep's topic and groups on the broker afterwards")
	fl.BoolVar(&f.closedLoop, "closed-loop", false, "for comparison only: each committer waits for its answer before its next commit (what a closed-loop benchmark measures)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no step-by-step narration")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", metricsAddrHelp)
	return cmd
}

func runCapacity(ctx context.Context, stdout, stderr io.Writer, args []string, f capacityFlags) error {
	// Everything is validated before anything starts or is written.
	w := spec.DefaultCapacity()
	if len(args) == 1 {
		var err error
		if w, err = spec.LoadCapacity(args[0]); err != nil {
			return err
		}
	}
	if err := applyCapacityOverrides(w, f); err != nil {
		return err
	}
	reg, stop, err := serveMetrics(f.metricsAddr, stderr)
	if err != nil {
		return err
	}
	defer stop()
	o := capacity.RecordOptions{ResultsDir: f.resultsDir, RunID: f.runID, Args: os.Args[1:]}
	if reg != nil {
		o.Options = append(o.Options, capacity.WithObserver(promexport.NewCapacity(reg)))
	}
	if !f.quiet {
		o.Log = stderr
	}
	if f.closedLoop {
		o.Options = append(o.Options, capacity.WithClosedLoop())
	}
	out, runErr := capacity.Record(ctx, w, o)
	if err := out.Print(stdout); err != nil {
		return err
	}
	if errors.Is(runErr, context.Canceled) {
		return &exitError{code: 130, err: errors.New("interrupted; finished steps are kept")}
	}
	return runErr
}

// applyCapacityOverrides applies command-line overrides and validates the
// result.
func applyCapacityOverrides(w *spec.CapacityWorkload, f capacityFlags) error {
	c := &w.Capacity
	for name, apply := range map[string]func(){
		"broker":                func() { w.Broker.Kind = f.broker },
		"nodes":                 func() { w.Broker.Nodes = f.nodes },
		"commit-delay":          func() { w.Broker.CommitDelay = spec.Duration(f.commitDelay) },
		"keep-topics":           func() { w.Broker.KeepTopics = f.keepTopics },
		"groups":                func() { c.Groups = f.groups },
		"partitions-per-commit": func() { c.PartitionsPerCommit = f.partitions },
		"rates":                 func() { c.Rates = f.rates },
		"step-duration":         func() { c.StepDuration = spec.Duration(f.stepDuration) },
		"warmup":                func() { c.Warmup = spec.Duration(f.warmup) },
		"commit-timeout":        func() { c.CommitTimeout = spec.Duration(f.commitTimeout) },
	} {
		if f.set[name] {
			apply()
		}
	}
	if err := w.Validate(); err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			se.Problem += " (after command-line overrides)"
		}
		return fmt.Errorf("capacity: %w", err)
	}
	return nil
}
