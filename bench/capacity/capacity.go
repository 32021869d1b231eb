// Package capacity measures what commits cost the cluster's group
// coordinator: many lightweight committers — consumer groups whose offsets
// are committed through the OffsetCommit API without a member consuming —
// are driven at a sweep of aggregate commit rates until the coordinator's
// latency turns (the knee) or commits fail.
//
// The committers run an open loop: each has a schedule of intended send
// times at its share of the step's rate and sends on it whether or not
// its earlier commits were answered. Latency is measured from the intended
// send time as well as from the actual one, so a stalled coordinator is
// not hidden by the committers waiting for it (coordinated omission). The
// committers' own lag is measured too: a rate this machine cannot send is
// reported as such, not as a knee.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/buildinfo"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// Observer follows a sweep step by step (package promexport serves what
// it sees as Prometheus metrics). Its methods are called from the sweep's
// goroutine and must not block.
type Observer interface {
	// Planned says how many steps the sweep plans.
	Planned(steps int)
	// StepStarted says a step starts; live reports its commits so far
	// (sent and answered: without error, and with one) and may be called
	// from any goroutine until the next step starts.
	StepStarted(series string, step int, targetPerSec float64, live func() (sent, answered, failed int64))
	// StepFinished hands over the finished step.
	StepFinished(results.CapacityStep)
}

// Option configures a sweep.
type Option func(*sweep)

// WithRunID names the run: its results, its topic and its groups.
func WithRunID(id string) Option { return func(s *sweep) { s.runID = id } }

// WithTopicPrefix starts the name of the topic and the groups the sweep
// creates (default "commitbench-").
func WithTopicPrefix(p string) Option { return func(s *sweep) { s.prefix = p } }

// WithKeepTopics leaves the sweep's topic and groups on the broker.
func WithKeepTopics(keep bool) Option { return func(s *sweep) { s.keep = keep } }

// WithLog sets where the sweep narrates (nil discards).
func WithLog(w io.Writer) Option { return func(s *sweep) { s.log = w } }

// WithObserver follows the sweep.
func WithObserver(o Observer) Option { return func(s *sweep) { s.obs = o } }

// WithClosedLoop makes every committer wait for each answer before it
// sends its next commit, as a closed-loop benchmark would; the latency
// from the intended send time still shows what that hides. For
// comparison: a capacity sweep should run open.
func WithClosedLoop() Option { return func(s *sweep) { s.closed = true } }

// WithStepDone receives every finished step, in order; an error stops the
// sweep.
func WithStepDone(f func(results.CapacityStep) error) Option { return func(s *sweep) { s.done = f } }

type sweep struct {
	b      broker.Broker
	c      spec.Capacity
	runID  string
	prefix string
	keep   bool
	log    io.Writer
	obs    Observer
	closed bool
	done   func(results.CapacityStep) error

	conn    cluster.Conn
	desc    cluster.Description
	machine results.Machine
	adm     *kadm.Client
}

// Step names one step of a plan.
type Step struct {
	Series              string
	Groups              int
	PartitionsPerCommit int
	TargetCommitsPerSec float64
}

// Plan lists the steps of c in the order they run: every series (groups ×
// partitions per commit, in the order given), each from its lowest rate up.
func Plan(c spec.Capacity) []Step {
	rates := slices.Clone(c.Rates)
	slices.Sort(rates)
	var out []Step
	for _, g := range c.Groups {
		for _, p := range c.PartitionsPerCommit {
			for _, r := range rates {
				out = append(out, Step{Series: results.SeriesName(g, p), Groups: g, PartitionsPerCommit: p, TargetCommitsPerSec: r})
			}
		}
	}
	return out
}

// Run drives the plan of c against b, step by step, handing each finished
// step to WithStepDone. It checks first that this process may open the
// connections the committers need. It creates one topic (partitions for
// the largest commit) and a group per committer, and deletes them
// afterwards unless told to keep them.
func Run(ctx context.Context, b broker.Broker, c spec.Capacity, opts ...Option) error {
	s := &sweep{b: b, c: c, prefix: "commitbench-", log: io.Discard, done: func(results.CapacityStep) error { return nil }}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = io.Discard
	}
	if s.runID == "" {
		s.runID = results.NewRunID(time.Now())
	}
	s.conn, s.desc = broker.ConnOf(b), b.Describe()
	s.machine = results.Machine{
		Commitbench: buildinfo.Commitbench(), GoVersion: buildinfo.Go(), FranzGo: buildinfo.Module("github.com/twmb/franz-go"),
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
	}
	if err := CheckFDs(c.Committers(), s.desc.Kind == "embedded"); err != nil {
		return err
	}
	plan := Plan(c)
	if s.obs != nil {
		s.obs.Planned(len(plan))
	}
	opts2, err := broker.ClientOpts(s.conn)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts2, kgo.ClientID("commitbench-capacity-admin"))...)
	if err != nil {
		return fmt.Errorf("creating the admin client: %w", err)
	}
	defer cl.Close()
	s.adm = kadm.NewClient(cl)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = s.adm.BrokerMetadata(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot reach the broker at %v: %w; check the address and that the broker runs", s.conn.Bootstrap, err)
	}

	topic := s.prefix + s.runID + "-capacity"
	parts := int32(slices.Max(c.PartitionsPerCommit))
	created, err := s.adm.CreateTopic(ctx, parts, -1, nil, topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		return fmt.Errorf("creating the committers' topic %s: %w", topic, err)
	}
	var groups []string
	defer func() { s.cleanUp(context.WithoutCancel(ctx), topic, groups) }()

	n := 0
	for si, g := range c.Groups {
		for pi, p := range c.PartitionsPerCommit {
			series := results.SeriesName(g, p)
			names := make([]string, g)
			for i := range names {
				names[i] = fmt.Sprintf("%s%s-s%d-g%d", s.prefix, s.runID, si*len(c.PartitionsPerCommit)+pi, i)
			}
			groups = append(groups, names...)
			steps := plan[n : n+len(c.Rates)]
			n += len(steps)
			if err := s.series(ctx, series, names, topic, [16]byte(created.ID), int32(p), steps, n-len(steps)); err != nil {
				return err
			}
		}
	}
	return nil
}

// series runs the steps of one committer shape with one set of committers.
func (s *sweep) series(ctx context.Context, series string, groups []string, topic string, topicID [16]byte, parts int32, steps []Step, before int) error {
	timeout := s.c.CommitTimeout.D()
	cs := make([]*committer, 0, len(groups))
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	for _, g := range groups {
		c, err := newCommitter(s.conn, g, topic, topicID, parts, timeout)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	fmt.Fprintf(s.log, "capacity: %s: connecting %d committers\n", series, len(cs))
	if err := primeAll(ctx, cs, timeout); err != nil {
		return err
	}
	for i, st := range steps {
		res, err := s.step(ctx, cs, st, before+i+1)
		if err != nil {
			return err
		}
		if err := s.done(res); err != nil {
			return err
		}
		if s.obs != nil {
			s.obs.StepFinished(res)
		}
	}
	return nil
}

// primeAll makes every committer's first commit, a few at a time.
func primeAll(ctx context.Context, cs []*committer, timeout time.Duration) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	sem := make(chan struct{}, 32)
	for i, c := range cs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = c.prime(ctx, timeout)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return fmt.Errorf("%w (the broker refused a commit from outside the group: see docs/capacity.md)", err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// step runs one step and measures it.
func (s *sweep) step(ctx context.Context, cs []*committer, st Step, index int) (results.CapacityStep, error) {
	dur, warm, timeout := s.c.StepDuration.D(), s.c.WarmupD(), s.c.CommitTimeout.D()
	res := results.CapacityStep{
		SchemaVersion: results.CapacitySchemaVersion, RunID: s.runID, Series: st.Series, Step: index,
		Groups: st.Groups, PartitionsPerCommit: st.PartitionsPerCommit, TargetCommitsPerSec: st.TargetCommitsPerSec,
		Loop: results.LoopOpen, StepMs: ms(dur), WarmupMs: ms(warm), CommitTimeoutMs: ms(timeout),
		Broker: s.desc, Machine: s.machine,
		StartedAt: time.Now().UTC().Format(time.RFC3339Nano),
	}
	if s.closed {
		res.Loop = results.LoopClosed
	}
	fmt.Fprintf(s.log, "capacity: step %d: %s at %g commits/s for %s\n", index, st.Series, st.TargetCommitsPerSec, dur)
	t := newTally(warm, dur)
	if s.obs != nil {
		s.obs.StepStarted(st.Series, index, st.TargetCommitsPerSec, t.live)
	}
	start := time.Now()
	// The broker's load is read at the window's edges, beside the schedule.
	loads := make(chan broker.Load, 2)
	var reader sync.WaitGroup
	reader.Go(func() {
		for _, at := range []time.Duration{warm, dur} {
			timer := time.NewTimer(time.Until(start.Add(at)))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			loads <- broker.ReadLoad(ctx, s.b, s.adm)
		}
	})
	drive(ctx, cs, schedule{rate: st.TargetCommitsPerSec, n: len(cs), dur: dur}, s.closed, timeout, start, t)
	reader.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.WallS = time.Since(start).Seconds()
	res.FinishedAt = time.Now().UTC().Format(time.RFC3339Nano)
	if err := t.fill(&res); err != nil {
		return res, err
	}
	for name, err := range t.firstErr {
		fmt.Fprintf(s.log, "capacity: step %d: %d commits failed with %s, the first: %v\n", index, res.FailedByError[name], name, err)
	}
	before, after := <-loads, <-loads
	cpu, recs, bytes := after.Since(before)
	res.BrokerCPUSeconds, res.OffsetsTopicRecords, res.OffsetsTopicBytes = cpu, recs, bytes
	if cpu != nil {
		res.BrokerCPUScope = "broker processes"
		if s.desc.Kind == "embedded" {
			res.BrokerCPUScope = "harness process: the embedded broker runs in it, committers included"
		}
	}
	if res.Answered > 0 {
		per := func(v float64) *float64 { return &v }
		if cpu != nil {
			res.BrokerCPUMsPer1kCommits = per(*cpu * 1e3 / float64(res.Answered) * 1e3)
		}
		if recs != nil {
			res.OffsetsTopicRecordsPerCommit = per(float64(*recs) / float64(res.Answered))
			res.OffsetsTopicBytesPerCommit = per(float64(*bytes) / float64(res.Answered))
		}
	}
	return res, nil
}

// cleanUp deletes the sweep's groups and topic unless they are kept.
func (s *sweep) cleanUp(ctx context.Context, topic string, groups []string) {
	if s.keep {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var errs []error
	if len(groups) > 0 {
		rs, err := s.adm.DeleteGroups(ctx, groups...)
		errs = append(errs, err)
		if err == nil {
			for _, r := range rs.Sorted() {
				errs = append(errs, r.Err)
			}
		}
	}
	_, err := s.adm.DeleteTopic(ctx, topic)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(s.log, "warning: cleaning up the capacity sweep's groups and topic %s: %v\n", topic, err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
