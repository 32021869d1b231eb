package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/progress"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/summary"
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
	fl.DurationVar(&f.commitDelay, "commit-delay", 0, "embedded broker: hold every OffsetCommit this long (e.g. 2ms), overriding broker.commit_delay")
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
	return cmd
}

// manifest describes a run; it is written next to the results.
type manifest struct {
	RunID      string           `json:"run_id"`
	Status     string           `json:"status"` // running, complete, interrupted, failed
	Error      string           `json:"error,omitempty"`
	StartedAt  string           `json:"started_at"`
	FinishedAt string           `json:"finished_at,omitempty"`
	Args       []string         `json:"args"`
	Workloads  []*spec.Workload `json:"workloads"`
	Planned    int              `json:"points_planned"`
	Finished   int              `json:"points_finished"`
}

func runWorkloads(ctx context.Context, stdout, stderr io.Writer, files []string, f runFlags) error {
	// Everything is validated before anything starts or is written.
	var ws []*spec.Workload
	for _, file := range files {
		w, err := spec.Load(file)
		if err != nil {
			return err
		}
		if err := applyOverrides(w, f); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		ws = append(ws, w)
	}
	type job struct {
		w      *spec.Workload
		points []spec.Point
	}
	var jobs []job
	total := 0
	for _, w := range ws {
		points, skips := w.Plan()
		for _, s := range skips {
			fmt.Fprintf(stderr, "skipping %s at %s: %s\n", s.Strategy, s.Interval, s.Reason)
		}
		for i := range points {
			points[i].Index = total + i
		}
		total += len(points)
		jobs = append(jobs, job{w, points})
	}

	runID := f.runID
	if runID == "" {
		runID = results.NewRunID(time.Now())
	}
	dir := filepath.Join(f.resultsDir, runID)
	m := &manifest{RunID: runID, Status: "running", StartedAt: time.Now().UTC().Format(time.RFC3339), Args: redactArgs(os.Args[1:]), Workloads: ws, Planned: total}
	var out *results.Writer // created at the first finished point
	var all []results.Result
	save := func(r results.Result) error {
		if out == nil {
			w, err := results.NewWriter(dir)
			if err != nil {
				return err
			}
			out = w
		}
		if err := out.Append(r); err != nil {
			return err
		}
		all = append(all, r)
		m.Finished++
		return writeManifest(dir, m)
	}

	var disp *progress.Display
	if !f.quiet {
		disp = progress.New(stderr, total, 10*time.Second)
	}
	runErr := func() error {
		for _, j := range jobs {
			if err := runJob(ctx, j.w, j.points, runID, f, disp, stderr, save); err != nil {
				return err
			}
		}
		return nil
	}()
	if disp != nil {
		disp.Finish()
	}

	if out != nil {
		m.FinishedAt = time.Now().UTC().Format(time.RFC3339)
		switch {
		case runErr == nil:
			m.Status = "complete"
		case errors.Is(runErr, context.Canceled):
			m.Status = "interrupted"
		default:
			m.Status, m.Error = "failed", runErr.Error()
		}
		if err := writeManifest(dir, m); err != nil {
			return err
		}
		if err := linkLatest(f.resultsDir, runID); err != nil {
			fmt.Fprintln(stderr, "warning:", err)
		}
		rows, err := summary.Rows(all)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		if err := summary.Print(stdout, rows); err != nil {
			return err
		}
		violations := 0
		for _, r := range all {
			for _, v := range r.Violations {
				fmt.Fprintf(stdout, "VIOLATION %s rep %d: %s\n", r.Key, r.Repetition, v)
				violations++
			}
		}
		if violations > 0 {
			fmt.Fprintf(stdout, "%d violations: a strategy broke the guarantee it claims (see above)\n", violations)
		}
		fmt.Fprintf(stdout, "\n%d of %d points finished (%s); results: %s\n", m.Finished, m.Planned, m.Status, out.Path())
	}
	if errors.Is(runErr, context.Canceled) {
		return &exitError{code: 130, err: errors.New("interrupted; finished points are kept")}
	}
	return runErr
}

// applyOverrides applies command-line overrides and validates the result.
func applyOverrides(w *spec.Workload, f runFlags) error {
	if f.set["broker"] {
		w.Broker.Kind = f.broker
	}
	if f.set["static-membership"] {
		static := f.static
		w.Client.StaticMembership = &static
	}
	if f.set["keep-topics"] {
		w.Broker.KeepTopics = f.keepTopics
	}
	if f.set["nodes"] {
		w.Broker.Nodes = f.nodes
	}
	if f.set["commit-delay"] {
		w.Broker.CommitDelay = spec.Duration(f.commitDelay)
	}
	if f.set["repetitions"] {
		w.Repetitions = f.repetitions
	}
	if f.set["crashes"] {
		w.Crashes.PerPoint = f.crashes
	}
	if f.set["sink"] {
		w.Sink.Kind = f.sink
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

// runJob runs one workload's points on a broker of its own.
func runJob(ctx context.Context, w *spec.Workload, points []spec.Point, runID string, f runFlags,
	disp *progress.Display, log io.Writer, save func(results.Result) error) error {
	b, err := broker.Start(ctx, w.Broker.Kind, broker.Options{
		CommitDelay: w.Broker.CommitDelay.D(),
		Nodes:       w.Broker.Nodes,
		Conn:        broker.Conn{Bootstrap: w.Broker.Bootstrap, TLS: w.Broker.TLS, SASL: w.Broker.SASL},
	})
	if err != nil {
		return err
	}
	defer b.Close()
	opts := []runner.Option{runner.WithStallTimeout(f.stallTimeout)}
	if disp != nil {
		opts = append(opts, runner.WithObserver(disp.Event))
	}
	r := runner.New(w, b, runID+"-"+w.Name, opts...)
	// Cleaning up is registered before Prepare: an interrupted seeding
	// still removes its topic and ledger directory.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Close(cctx); err != nil {
			fmt.Fprintln(log, "warning: cleaning up:", err)
		}
	}()
	if err := r.Prepare(ctx); err != nil {
		return err
	}
	for _, p := range points {
		if disp != nil {
			disp.Point(p)
		}
		res, err := r.Point(ctx, p)
		if err != nil {
			return err
		}
		if err := save(res); err != nil {
			return err
		}
		if disp != nil {
			disp.Done()
		}
	}
	return nil
}

// redactArgs hides the password of a --sink-dsn on the recorded command
// line: results must never hold a secret.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		switch {
		case a == "--sink-dsn" && i+1 < len(out):
			out[i+1] = sink.Redact(out[i+1])
		case strings.HasPrefix(a, "--sink-dsn="):
			out[i] = "--sink-dsn=" + sink.Redact(strings.TrimPrefix(a, "--sink-dsn="))
		}
	}
	return out
}

func writeManifest(dir string, m *manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, "run.json"), append(b, '\n'))
}

// linkLatest points resultsDir/latest at the run, replacing it atomically.
func linkLatest(resultsDir, runID string) error {
	tmp := filepath.Join(resultsDir, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(runID, tmp); err != nil {
		return fmt.Errorf("linking results/latest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(resultsDir, "latest")); err != nil {
		return fmt.Errorf("linking results/latest: %w", err)
	}
	return nil
}
