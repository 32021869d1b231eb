package capacity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/table"
)

// LatestLink names the link in the results directory that points at the
// newest capacity sweep (results/latest stays the newest run's).
const LatestLink = "latest-capacity"

// Manifest describes a capacity sweep; it is written to run.json next to
// its capacity.jsonl.
type Manifest struct {
	RunID      string                 `json:"run_id"`
	Kind       string                 `json:"kind"` // "capacity"
	Status     string                 `json:"status"`
	Error      string                 `json:"error,omitempty"`
	StartedAt  string                 `json:"started_at"`
	FinishedAt string                 `json:"finished_at,omitempty"`
	Args       []string               `json:"args"`
	Workload   *spec.CapacityWorkload `json:"workload"`
	Planned    int                    `json:"steps_planned"`
	Finished   int                    `json:"steps_finished"`
}

// RecordOptions configure a recorded sweep.
type RecordOptions struct {
	// ResultsDir receives <run-id>/ and the latest-capacity link.
	ResultsDir string
	// RunID names the run's directory (default: a timestamp).
	RunID string
	// Args is the command line, recorded in the manifest.
	Args []string
	// Log receives the sweep's narration (nil discards).
	Log io.Writer
	// Options are passed on to Run.
	Options []Option
}

// Outcome is what a recorded sweep produced.
type Outcome struct {
	Manifest
	// Dir is the run's directory; empty when no step finished (nothing
	// was written).
	Dir string
	// Steps are the finished steps, in the order they ran.
	Steps []results.CapacityStep
}

// Record starts (or reaches) the broker w names and sweeps it, writing
// every finished step at once to <results>/<run-id>/capacity.jsonl (so an
// interrupted sweep keeps every finished step) with its manifest, and
// points <results>/latest-capacity at the run. Nothing is written before
// the first step has finished. The returned error is the sweep's (an
// interrupted one returns ctx's); the Outcome holds every finished step
// either way.
func Record(ctx context.Context, w *spec.CapacityWorkload, o RecordOptions) (*Outcome, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	out := &Outcome{Manifest: Manifest{RunID: o.RunID, Kind: "capacity", Args: o.Args, Workload: w, Planned: len(Plan(w.Capacity))}}
	if out.RunID == "" {
		out.RunID = results.NewRunID(time.Now())
	}
	out.Status, out.StartedAt = "running", time.Now().UTC().Format(time.RFC3339)
	// The descriptors first: a sweep this process cannot open is refused
	// before a broker starts.
	if err := CheckFDs(w.Capacity.Committers(), w.Broker.Kind == "embedded"); err != nil {
		return out, err
	}
	b, err := broker.Start(ctx, w.Broker.Kind, broker.OptionsOf(w.Broker))
	if err != nil {
		return out, err
	}
	defer b.Close()
	dir := filepath.Join(o.ResultsDir, out.RunID)
	var writer *results.CapacityWriter
	save := func(s results.CapacityStep) error {
		if writer == nil {
			cw, err := results.NewCapacityWriter(dir)
			if err != nil {
				return err
			}
			writer, out.Dir = cw, dir
		}
		if err := writer.Append(s); err != nil {
			return err
		}
		out.Steps = append(out.Steps, s)
		out.Finished++
		return writeManifest(dir, &out.Manifest)
	}
	opts := append([]Option{WithRunID(out.RunID), WithTopicPrefix(w.Broker.TopicPrefix), WithKeepTopics(w.Broker.KeepTopics), WithLog(o.Log)}, o.Options...)
	runErr := Run(ctx, b, w.Capacity, append(opts, WithStepDone(save))...)
	if writer == nil {
		return out, runErr
	}
	out.FinishedAt = time.Now().UTC().Format(time.RFC3339)
	out.Status, out.Error = results.RunStatus(runErr)
	if err := writeManifest(dir, &out.Manifest); err != nil {
		return out, err
	}
	if err := results.Link(o.ResultsDir, LatestLink, out.RunID); err != nil {
		fmt.Fprintln(o.Log, "warning:", err)
	}
	return out, runErr
}

// Print writes the steps' table, each series' knee, and where the steps
// are.
func (o *Outcome) Print(w io.Writer) error {
	if o.Dir == "" {
		return nil
	}
	fmt.Fprintln(w)
	if err := table.Capacity(w, o.Steps); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d of %d steps finished (%s); steps: %s\n", o.Finished, o.Planned, o.Status, filepath.Join(o.Dir, results.CapacityFileName))
	return err
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, "run.json"), append(b, '\n'))
}
