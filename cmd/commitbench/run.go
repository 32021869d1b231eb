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

	"github.com/commitbench/commitbench/bench/progress"
	"github.com/commitbench/commitbench/bench/promexport"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/sweep"
)

// runFlags are the overrides `run` accepts on top of the workload files;
// set lists the override flags the user gave.
type runFlags struct {
	set          map[string]bool
	broker       string
	commitDelay  time.Duration
	resultsDir   string
	runID        string
	repetitions  int
	crashes      int
	quiet        bool
	stallTimeout time.Duration
	sink         string
	sinkDSN      string
	nodes        int
	keepTopics   bool
	static       bool
	metricsAddr  string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [workload.yaml ...]",
		Short: "Run workloads and write one JSON line per point to results/<run-id>/",
		Long: `Run sweeps each workload's strategies × commit intervals × repetitions.
Each point runs a crash-free throughput phase, then a crash phase that
SIGKILLs the worker process at seeded random moments. Results go to
results/<run-id>/results.jsonl, rewritten atomically after every point, so
Ctrl-C keeps every finished point. results/latest points to the newest run.

Exit status: 0 done, 1 error (bad workload, broker unreachable, worker
failure), 130 interrupted (finished points are kept).`,
		Example: "  commitbench run workloads/quick.yaml\n  commitbench run --commit-delay 2ms workloads/count-sweep.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"workloads/quick.yaml"}
			}
			f.set = map[string]bool{}
			cmd.Flags().Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
			return runWorkloads(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.broker, "broker", "", "broker kind, overriding the workloads' broker.kind: embedded, local, container or external")
	fl.DurationVar(&f.commitDelay, "commit-delay", 0, "embedded broker: hold every OffsetCommit, TxnOffsetCommit and EndTxn this long (e.g. 2ms), overriding broker.commit_delay; database commits are not delayed")
	fl.StringVar(&f.resultsDir, "results", "results", "directory that receives results/<run-id>/")
	fl.StringVar(&f.runID, "run-id", "", "name of this run's directory (default: a timestamp)")
	fl.IntVar(&f.repetitions, "repetitions", 0, "override every workload's repetitions")
	fl.IntVar(&f.crashes, "crashes", 0, "override every workload's crashes.per_point (0 skips the crash phase)")
	fl.BoolVar(&f.static, "static-membership", true, "rejoin a killed worker as the same group member, overriding client.static_membership (false: recovery waits for the session timeout)")
	fl.BoolVar(&f.keepTopics, "keep-topics", false, "leave the run's topics on the broker afterwards (broker.keep_topics)")
	fl.IntVar(&f.nodes, "nodes", 0, "local broker: 1 node, or 3 with replicated offsets, overriding broker.nodes")
	fl.StringVar(&f.sink, "sink", "", "database of the exactly-once strategies: sqlite or postgres, overriding sink.kind")
	fl.StringVar(&f.sinkDSN, "sink-dsn", "", "PostgreSQL DSN (default $COMMITBENCH_PG_DSN); never written to results")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress display")
	fl.DurationVar(&f.stallTimeout, "stall-timeout", time.Minute, "fail a point whose worker reports nothing for this long")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", metricsAddrHelp)
	return cmd
}

func runWorkloads(ctx context.Context, stdout, stderr io.Writer, files []string, f runFlags) error {
	// Everything is validated before anything starts or is written.
	var ws []*spec.Workload
	for _, file := range files {
		w, err := spec.Load(file, func(w *spec.Workload) { whereItRuns(w, f) })
		if err != nil {
			return err
		}
		if err := applyOverrides(w, f); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		ws = append(ws, w)
	}
	reg, stop, err := serveMetrics(f.metricsAddr, stderr)
	if err != nil {
		return err
	}
	defer stop()
	o := sweep.Options{ResultsDir: f.resultsDir, RunID: f.runID, Args: os.Args[1:], StallTimeout: f.stallTimeout, Log: stderr}
	if reg != nil {
		o.Observer = promexport.NewRun(reg)
	}
	if !f.quiet {
		o.NewDisplay = func(total int) sweep.Display { return progress.New(stderr, total, 10*time.Second) }
	}
	out, runErr := sweep.Run(ctx, ws, o)
	if err := out.Print(stdout); err != nil {
		return err
	}
	if errors.Is(runErr, context.Canceled) {
		return &exitError{code: 130, err: errors.New("interrupted; finished points are kept")}
	}
	return runErr
}

// whereItRuns sets the broker and the sink the command line names, before
// the workload's defaults and checks: what a workload may ask for (a
// broker fault, a commit delay) depends on them.
func whereItRuns(w *spec.Workload, f runFlags) {
	if f.set["broker"] {
		w.Broker.Kind = f.broker
	}
	if f.set["nodes"] {
		w.Broker.Nodes = f.nodes
	}
	if f.set["commit-delay"] {
		w.Broker.CommitDelay = spec.Duration(f.commitDelay)
	}
	if f.set["sink"] {
		w.Sink.Kind = f.sink
	}
}

// applyOverrides applies the rest of the command-line overrides (Load
// applied whereItRuns) and validates the result.
func applyOverrides(w *spec.Workload, f runFlags) error {
	if f.set["static-membership"] {
		static := f.static
		w.Client.StaticMembership = &static
	}
	if f.set["keep-topics"] {
		w.Broker.KeepTopics = f.keepTopics
	}
	if f.set["repetitions"] {
		w.Repetitions = f.repetitions
	}
	if f.set["crashes"] {
		w.Crashes.PerPoint = f.crashes
	}
	if w.Sink.Kind == "postgres" {
		switch {
		case f.sinkDSN != "":
			w.Sink.DSN = f.sinkDSN
		case w.Sink.DSN == "":
			w.Sink.DSN = os.Getenv("COMMITBENCH_PG_DSN")
		}
		if w.Sink.DSN == "" {
			return &spec.Error{Field: "sink.dsn", Problem: "the postgres sink needs a DSN",
				Fix: "set COMMITBENCH_PG_DSN or --sink-dsn (scripts/postgres.sh start prints one)"}
		}
	}
	if session := w.Client.SessionTimeout.D(); f.stallTimeout <= 2*session {
		return &spec.Error{Field: "client.session_timeout", Problem: fmt.Sprintf("%s leaves --stall-timeout %s too short: a restart may wait twice the session timeout", session, f.stallTimeout),
			Fix: "raise --stall-timeout above twice the session timeout"}
	}
	if err := w.Validate(); err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			se.Problem += " (after command-line overrides)"
		}
		return err
	}
	return nil
}
