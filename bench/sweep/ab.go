package sweep

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
)

// ABOptions configure an interleaved A/B run.
type ABOptions struct {
	Options
	// CandidateWorker starts the candidate's workers (another commitbench
	// build); nil runs them with this binary.
	CandidateWorker runner.WorkerCommand
	// Progress narrates the run point by point (nil discards).
	Progress io.Writer
}

// ABOutcome is what an A/B run wrote: both sides' results, in the order
// they ran, and where they are.
type ABOutcome struct {
	RunID   string
	Dir     string
	A, B    []results.Result
	Planned int
}

// AB runs a baseline workload and a candidate one interleaved on one broker
// and one topic — for each repetition, every point of A, then the same
// point of B — so both sides share the machine's state point by point.
// The two workloads must plan the same points and read the same topic.
// Each finished result is written at once to <dir>/a and <dir>/b.
func AB(ctx context.Context, a, b *spec.Workload, o ABOptions) (*ABOutcome, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	pa, _ := a.Plan()
	pb, _ := b.Plan()
	if len(pa) != len(pb) {
		return nil, fmt.Errorf("baseline plans %d points, candidate %d: an A/B run needs the same points on both sides", len(pa), len(pb))
	}
	for i := range pa {
		if pa[i].Key != pb[i].Key {
			return nil, fmt.Errorf("point %d is %s on the baseline, %s on the candidate: an A/B run needs the same points on both sides", i, pa[i].Key, pb[i].Key)
		}
	}
	out := &ABOutcome{RunID: o.RunID, Planned: len(pa)}
	if out.RunID == "" {
		out.RunID = results.NewRunID(time.Now())
	}
	out.Dir = filepath.Join(o.ResultsDir, out.RunID)
	wa, err := results.NewWriter(filepath.Join(out.Dir, "a"))
	if err != nil {
		return nil, err
	}
	wb, err := results.NewWriter(filepath.Join(out.Dir, "b"))
	if err != nil {
		return nil, err
	}
	br, err := broker.Start(ctx, a.Broker.Kind, broker.Options{CommitDelay: a.Broker.CommitDelay.D(), Nodes: a.Broker.Nodes, Conn: a.Broker.Conn()})
	if err != nil {
		return nil, err
	}
	defer br.Close()
	ra := runner.New(a, br, out.RunID+"-a", runner.WithStallTimeout(o.StallTimeout))
	defer closeRunner(ctx, ra, o.Log)
	if err := ra.Prepare(ctx); err != nil {
		return nil, err
	}
	bopts := []runner.Option{runner.WithStallTimeout(o.StallTimeout), runner.WithSeededTopic(ra.Topic(), ra.End())}
	if o.CandidateWorker != nil {
		bopts = append(bopts, runner.WithWorkerCommand(o.CandidateWorker))
	}
	rb := runner.New(b, br, out.RunID+"-b", bopts...)
	defer closeRunner(ctx, rb, o.Log)
	if err := rb.Prepare(ctx); err != nil {
		return nil, err
	}
	for i := range pa {
		for _, side := range []struct {
			name string
			r    *runner.Runner
			p    spec.Point
			w    *results.Writer
			into *[]results.Result
		}{{"A", ra, pa[i], wa, &out.A}, {"B", rb, pb[i], wb, &out.B}} {
			res, err := side.r.Point(ctx, side.p)
			if err != nil {
				return out, fmt.Errorf("%s side: %w", side.name, err)
			}
			if err := side.w.Append(res); err != nil {
				return out, err
			}
			*side.into = append(*side.into, res)
			fmt.Fprintf(o.Progress, "%s %s rep %d: %.0f records/s\n", side.name, side.p.Key, side.p.Repetition, res.Throughput.RecordsPerSec)
		}
	}
	return out, nil
}

func closeRunner(ctx context.Context, r *runner.Runner, log io.Writer) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.Close(cctx); err != nil {
		fmt.Fprintln(log, "warning: cleaning up:", err)
	}
}
