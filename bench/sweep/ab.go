package sweep

import (
	"bytes"
	"context"
	"encoding/json"
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
	// CandidateBroker holds the candidate's broker options that a workload
	// cannot say (Container.Image: another Kafka image or version).
	CandidateBroker broker.Options
}

// ABOutcome is what an A/B run wrote: both sides' results, in the order
// they ran, and where they are.
type ABOutcome struct {
	RunID   string
	Dir     string
	A, B    []results.Result
	Planned int
}

// AB runs a baseline workload and a candidate one interleaved — for each
// repetition, every point of A, then the same point of B — so both sides
// share the machine's state point by point. The two workloads must plan the
// same points on the same topic shape. They share one broker and one topic
// when their broker settings are equal, or differ only by the embedded
// broker's commit delay (which it then applies per side); otherwise each
// side has its broker and its topic. Each finished result is written at
// once to <dir>/a and <dir>/b.
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
	idA, idB := out.RunID+"-a", out.RunID+"-b"
	bs, err := startAB(ctx, a, b, idA, idB, o.CandidateBroker)
	if err != nil {
		return nil, err
	}
	defer bs.close()
	ra := runner.New(a, bs.a, idA, append(bs.optsA, runner.WithStallTimeout(o.StallTimeout))...)
	defer closeRunner(ctx, ra, o.Log)
	if err := ra.Prepare(ctx); err != nil {
		return nil, err
	}
	bopts := append(bs.optsB, runner.WithStallTimeout(o.StallTimeout))
	if bs.shared {
		bopts = append(bopts, runner.WithSeededTopic(ra.Topic(), ra.End()))
	}
	if o.CandidateWorker != nil {
		bopts = append(bopts, runner.WithWorkerCommand(o.CandidateWorker))
	}
	rb := runner.New(b, bs.b, idB, bopts...)
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

// abBrokers are the brokers of an A/B run's sides, and the runner options
// that say what each side's results record.
type abBrokers struct {
	a, b         broker.Broker
	shared       bool
	optsA, optsB []runner.Option
}

func (bs *abBrokers) close() {
	bs.a.Close()
	if !bs.shared {
		bs.b.Close()
	}
}

// startAB starts the brokers of an A/B run: one for both sides when their
// broker settings are equal, or on the embedded broker differ only by the
// commit delay, which the broker then holds per side by its groups'
// prefix; else one each, so a candidate on another broker kind, node count
// or image is paired point by point with the baseline all the same.
func startAB(ctx context.Context, a, b *spec.Workload, idA, idB string, candidate broker.Options) (*abBrokers, error) {
	undelayed := func(w *spec.Workload) spec.Broker { x := w.Broker; x.CommitDelay = 0; return x }
	sameBroker := equalJSON(undelayed(a), undelayed(b)) && candidate.Container.Image == ""
	switch {
	case sameBroker && a.Broker.CommitDelay == b.Broker.CommitDelay:
		br, err := broker.Start(ctx, a.Broker.Kind, broker.OptionsOf(a.Broker))
		if err != nil {
			return nil, err
		}
		return &abBrokers{a: br, b: br, shared: true}, nil
	case sameBroker && a.Broker.Kind == "embedded":
		br, err := broker.Start(ctx, a.Broker.Kind, broker.Options{GroupCommitDelays: map[string]time.Duration{
			runner.GroupPrefix(idA): a.Broker.CommitDelay.D(),
			runner.GroupPrefix(idB): b.Broker.CommitDelay.D(),
		}})
		if err != nil {
			return nil, err
		}
		desc := br.Describe()
		return &abBrokers{a: br, b: br, shared: true,
			optsA: []runner.Option{runner.WithDescription(broker.DelayedDescription(desc, a.Broker.CommitDelay.D()))},
			optsB: []runner.Option{runner.WithDescription(broker.DelayedDescription(desc, b.Broker.CommitDelay.D()))},
		}, nil
	}
	ba, err := broker.Start(ctx, a.Broker.Kind, broker.OptionsOf(a.Broker))
	if err != nil {
		return nil, fmt.Errorf("baseline broker: %w", err)
	}
	ob := broker.OptionsOf(b.Broker)
	ob.Container = candidate.Container
	bb, err := broker.Start(ctx, b.Broker.Kind, ob)
	if err != nil {
		ba.Close()
		return nil, fmt.Errorf("candidate broker: %w", err)
	}
	return &abBrokers{a: ba, b: bb}, nil
}

func equalJSON(x, y any) bool {
	bx, errx := json.Marshal(x)
	by, erry := json.Marshal(y)
	return errx == nil && erry == nil && bytes.Equal(bx, by)
}

func closeRunner(ctx context.Context, r *runner.Runner, log io.Writer) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.Close(cctx); err != nil {
		fmt.Fprintln(log, "warning: cleaning up:", err)
	}
}
