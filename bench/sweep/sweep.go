// Package sweep runs whole workloads: it plans their points, starts each
// workload's broker, runs every point through the runner, writes each
// finished Result to results/<run-id>/ at once (so an interrupted run keeps
// every finished point), keeps the run's manifest (run.json) and points
// results/latest at the run. Commands and tests call it; none re-implements
// the loop.
package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/summary"
	"github.com/commitbench/commitbench/bench/table"
)

// ManifestFile is the run's manifest inside its results directory.
const ManifestFile = "run.json"

// Display follows a run point by point (package progress implements it).
type Display interface {
	// Point says a point starts; Event reports progress within it; Done
	// says it finished; Finish ends the display.
	Point(spec.Point)
	Event(runner.Event)
	Done()
	Finish()
}

// Observer follows a run's figures as they come (package promexport serves
// them as Prometheus metrics). Its methods are called from the sweep's
// goroutine, must not block, and see only what the harness already has.
type Observer interface {
	// Planned says how many points the run plans.
	Planned(points int)
	// Point says a point starts.
	Point(spec.Point)
	// Event reports progress within the point (about every 200 ms).
	Event(runner.Event)
	// Finished hands over a point's result once it is saved.
	Finished(results.Result)
}

// Options configure a sweep.
type Options struct {
	// ResultsDir receives <run-id>/ and the latest link.
	ResultsDir string
	// RunID names the run's directory (default: a timestamp).
	RunID string
	// Args is the command line, recorded in the manifest with any DSN
	// password redacted.
	Args []string
	// StallTimeout fails a point whose worker reports nothing for this long.
	StallTimeout time.Duration
	// Display, when set, follows the run; NewDisplay makes it from the
	// number of planned points.
	NewDisplay func(total int) Display
	// Observer, when set, follows the run's figures.
	Observer Observer
	// Log receives the plan's skips and warnings (nil discards).
	Log io.Writer
}

// Manifest describes a run; it is written next to the results.
type Manifest struct {
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

// Outcome is what a sweep produced.
type Outcome struct {
	Manifest
	// Dir is the run's results directory; empty when no point finished
	// (nothing was written).
	Dir string
	// Results are the finished points, in the order they ran.
	Results []results.Result
	// Skips are the strategy × interval pairs the plans left out.
	Skips []spec.Skip
}

// Run runs every workload's points in order, each workload on a broker of
// its own. Every workload must be valid already. The returned error is the
// run's (an interrupted run returns ctx's error); the Outcome holds every
// finished point either way.
func Run(ctx context.Context, ws []*spec.Workload, o Options) (*Outcome, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	type job struct {
		w      *spec.Workload
		points []spec.Point
	}
	var jobs []job
	out := &Outcome{}
	for _, w := range ws {
		points, skips := w.Plan()
		for _, s := range skips {
			fmt.Fprintf(o.Log, "skipping %s at %s: %s\n", s.Strategy, s.Interval, s.Reason)
		}
		out.Skips = append(out.Skips, skips...)
		for i := range points {
			points[i].Index = out.Planned + i
		}
		out.Planned += len(points)
		jobs = append(jobs, job{w, points})
	}
	out.RunID = o.RunID
	if out.RunID == "" {
		out.RunID = results.NewRunID(time.Now())
	}
	out.Status, out.StartedAt = "running", time.Now().UTC().Format(time.RFC3339)
	out.Args, out.Workloads = RedactArgs(o.Args), ws
	dir := filepath.Join(o.ResultsDir, out.RunID)

	var writer *results.Writer // created at the first finished point
	save := func(r results.Result) error {
		if writer == nil {
			w, err := results.NewWriter(dir)
			if err != nil {
				return err
			}
			writer, out.Dir = w, dir
		}
		if err := writer.Append(r); err != nil {
			return err
		}
		out.Results = append(out.Results, r)
		out.Finished++
		if err := writeManifest(dir, &out.Manifest); err != nil {
			return err
		}
		if o.Observer != nil {
			o.Observer.Finished(r)
		}
		return nil
	}
	var disp Display
	if o.NewDisplay != nil {
		disp = o.NewDisplay(out.Planned)
	}
	if o.Observer != nil {
		o.Observer.Planned(out.Planned)
	}
	var runErr error
	for _, j := range jobs {
		if runErr = Workload(ctx, j.w, j.points, out.RunID+"-"+j.w.Name, o, disp, func(_ *runner.Runner, r results.Result) error { return save(r) }); runErr != nil {
			break
		}
	}
	if disp != nil {
		disp.Finish()
	}
	if writer == nil {
		return out, runErr
	}
	out.FinishedAt = time.Now().UTC().Format(time.RFC3339)
	out.Status, out.Error = results.RunStatus(runErr)
	if err := writeManifest(dir, &out.Manifest); err != nil {
		return out, err
	}
	if err := LinkLatest(o.ResultsDir, out.RunID); err != nil {
		fmt.Fprintln(o.Log, "warning:", err)
	}
	return out, runErr
}

// Workload runs one workload's points on a broker of its own, calling each
// with every finished point (with the runner, whose topic and connection
// a caller may use between points). disp may be nil.
func Workload(ctx context.Context, w *spec.Workload, points []spec.Point, runID string, o Options, disp Display,
	each func(*runner.Runner, results.Result) error) error {
	b, err := broker.Start(ctx, w.Broker.Kind, broker.OptionsOf(w.Broker))
	if err != nil {
		return err
	}
	defer b.Close()
	opts := []runner.Option{runner.WithStallTimeout(o.StallTimeout)}
	switch {
	case disp != nil && o.Observer != nil:
		opts = append(opts, runner.WithObserver(func(e runner.Event) { disp.Event(e); o.Observer.Event(e) }))
	case disp != nil:
		opts = append(opts, runner.WithObserver(disp.Event))
	case o.Observer != nil:
		opts = append(opts, runner.WithObserver(o.Observer.Event))
	}
	r := runner.New(w, b, runID, opts...)
	// Cleaning up is registered before Prepare: an interrupted seeding
	// still removes its topic and ledger directory.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Close(cctx); err != nil {
			fmt.Fprintln(o.Log, "warning: cleaning up:", err)
		}
	}()
	if err := r.Prepare(ctx); err != nil {
		return err
	}
	for _, p := range points {
		// The observer first: once the display announces a point, its
		// metrics name it.
		if o.Observer != nil {
			o.Observer.Point(p)
		}
		if disp != nil {
			disp.Point(p)
		}
		res, err := r.Point(ctx, p)
		if err != nil {
			return err
		}
		if err := each(r, res); err != nil {
			return err
		}
		if disp != nil {
			disp.Done()
		}
	}
	return nil
}

// Print writes the outcome's table, every violation, and where the results
// are.
func (o *Outcome) Print(w io.Writer) error {
	if o.Dir == "" {
		return nil
	}
	cells, err := summary.Cells(o.Results)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := table.Print(w, cells); err != nil {
		return err
	}
	if slices.ContainsFunc(cells, func(c summary.Cell) bool { return c.Scenario != nil }) {
		fmt.Fprintln(w)
		if err := table.PrintScenarios(w, cells); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(cells, func(c summary.Cell) bool { return c.Scenario != nil && len(c.Scenario.Faults) > 0 }) {
		fmt.Fprintln(w)
		if err := table.PrintFaults(w, cells); err != nil {
			return err
		}
	}
	for _, c := range summary.Caveats(cells) {
		fmt.Fprintln(w, "note:", c)
	}
	violations := 0
	for _, r := range o.Results {
		for _, b := range results.Check(r) {
			fmt.Fprintf(w, "VIOLATION %s rep %d: %s\n", r.Key, r.Repetition, b.Detail)
			violations++
		}
	}
	if violations > 0 {
		fmt.Fprintf(w, "%d violations: a strategy broke the guarantee it claims (see above)\n", violations)
	}
	_, err = fmt.Fprintf(w, "\n%d of %d points finished (%s); results: %s\n", o.Finished, o.Planned, o.Status, filepath.Join(o.Dir, results.FileName))
	return err
}

// RedactArgs hides the password of a --sink-dsn on a recorded command
// line: results must never hold a secret.
func RedactArgs(args []string) []string {
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

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// LinkLatest points resultsDir/latest at the run, replacing it atomically.
func LinkLatest(resultsDir, runID string) error {
	return results.Link(resultsDir, "latest", runID)
}
