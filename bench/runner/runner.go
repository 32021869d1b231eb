// Package runner executes a workload's points against a broker. For each
// point it runs a crash-free throughput phase and a crash phase with real
// worker processes, keeps the ledger of every record's effects, and turns
// the ledger and the workers' timing events into a Result.
package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/buildinfo"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/worker"
)

// Event reports progress within a point, for a progress display.
type Event struct {
	Point spec.Point
	// Phase is "throughput" or "crash".
	Phase string
	// Applied is the number of effects applied so far in the phase.
	Applied int64
	// Records is the number of records in the topic.
	Records int64
}

// Option configures a Runner.
type Option func(*Runner)

// WithWorkerCommand sets how worker processes are started (tests run
// their own binary).
func WithWorkerCommand(c WorkerCommand) Option { return func(r *Runner) { r.worker = c } }

// WithObserver receives progress events about every 200 ms.
func WithObserver(f func(Event)) Option { return func(r *Runner) { r.observe = f } }

// WithLog sets where the runner narrates (kills, restarts); nil discards.
func WithLog(w io.Writer) Option { return func(r *Runner) { r.log = w } }

// WithStallTimeout fails a point whose worker sends nothing for this long.
func WithStallTimeout(d time.Duration) Option { return func(r *Runner) { r.stall = d } }

// Runner runs the points of one workload on one broker.
type Runner struct {
	w       *spec.Workload
	b       broker.Broker
	runID   string
	worker  WorkerCommand
	observe func(Event)
	log     io.Writer
	stall   time.Duration

	topic string
	end   map[int32]int64
	env   results.Env
	tmp   string // holds the phases' ledger files
	conn  broker.Conn
	// adm serves every administrative request of the run (topics, load
	// readings), one client rather than one per request.
	adm   *kadm.Client
	admCl *kgo.Client
	// created is set once the source topic exists, so Close deletes even
	// a topic whose seeding was interrupted.
	created bool
}

// New returns a Runner. Call Prepare before Point, and Close after.
func New(w *spec.Workload, b broker.Broker, runID string, opts ...Option) *Runner {
	r := &Runner{
		w: w, b: b, runID: runID,
		observe: func(Event) {},
		log:     io.Discard,
		stall:   60 * time.Second,
		topic:   w.Broker.TopicPrefix + runID,
		conn:    broker.ConnOf(b),
		env: results.Env{
			Commitbench: buildinfo.Commitbench(),
			GoVersion:   buildinfo.Go(),
			FranzGo:     buildinfo.Module("github.com/twmb/franz-go"),
			OS:          runtime.GOOS,
			Arch:        runtime.GOARCH,
			CPUs:        runtime.NumCPU(),
		},
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = io.Discard
	}
	return r
}

// Prepare checks that the broker answers and seeds the source topic.
func (r *Runner) Prepare(ctx context.Context) error {
	if r.worker == nil {
		wc, err := SelfWorker()
		if err != nil {
			return err
		}
		r.worker = wc
	}
	cl, err := newClient(r.conn, "commitbench-harness")
	if err != nil {
		return err
	}
	r.admCl, r.adm = cl, kadm.NewClient(cl)
	if err := ping(ctx, r.adm, r.conn, 10*time.Second); err != nil {
		return err
	}
	if err := r.checkSink(ctx); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "commitbench-ledger-")
	if err != nil {
		return fmt.Errorf("creating a directory for ledgers: %w", err)
	}
	r.tmp = tmp
	end, err := seed(ctx, r.conn, r.topic, r.w, func() { r.created = true })
	if err != nil {
		return err
	}
	r.end = end
	return nil
}

// checkSink connects to a PostgreSQL sink once before anything runs, so a
// wrong DSN is one error up front rather than a failure at the first
// exactly-once point.
func (r *Runner) checkSink(ctx context.Context) error {
	if r.w.Sink.Kind != sink.Postgres {
		return nil
	}
	for _, name := range r.w.Strategies {
		if info, err := strategy.Lookup(name); err == nil && info.Effects == strategy.EffectsDB {
			db, err := sink.Open(ctx, r.w.Sink.Kind, r.w.Sink.DSN)
			if err != nil {
				return err
			}
			return db.Close()
		}
	}
	return nil
}

// Topic is the seeded source topic.
func (r *Runner) Topic() string { return r.topic }

// Conn is how the runner's clients reach the broker.
func (r *Runner) Conn() broker.Conn { return r.conn }

// Close deletes the source topic (unless the workload keeps topics) and
// the ledger files.
func (r *Runner) Close(ctx context.Context) error {
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
	if r.admCl == nil {
		return nil
	}
	defer r.admCl.Close()
	if !r.created || r.w.Broker.KeepTopics {
		return nil
	}
	return deleteTopic(ctx, r.adm, r.topic)
}

// Point measures one point: the throughput phase, then (if the workload
// plans crashes) the crash phase.
func (r *Runner) Point(ctx context.Context, p spec.Point) (results.Result, error) {
	info, err := strategy.Lookup(p.Strategy)
	if err != nil {
		return results.Result{}, err
	}
	res := results.Result{
		SchemaVersion:      results.SchemaVersion,
		RunID:              r.runID,
		Key:                p.Key,
		Workload:           r.w.Name,
		Strategy:           p.Strategy,
		Guarantee:          string(info.Guarantee),
		Repetition:         p.Repetition,
		IntervalKind:       p.Interval.Kind(),
		CommitEveryRecords: p.Interval.Records,
		CommitEveryMs:      float64(p.Interval.Every.D()) / float64(time.Millisecond),
		Topic:              r.w.Topic,
		Processing:         r.w.Processing,
		Client:             r.w.Client,
		Crashes:            r.w.Crashes,
		Broker:             r.b.Describe(),
		Env:                r.env,
		EffectsIn:          info.Effects,
		StartedAt:          time.Now().UTC().Format(time.RFC3339Nano),
		Violations:         []string{},
	}
	if info.Effects == strategy.EffectsDB {
		res.Sink = r.w.Sink.Kind
	}
	tp, busy, err := r.throughput(ctx, p)
	if err != nil {
		return res, fmt.Errorf("%s rep %d, throughput phase: %w", p.Key, p.Repetition, err)
	}
	res.Throughput = tp
	if tp.Lost > 0 {
		res.Violations = append(res.Violations, fmt.Sprintf("crash-free run lost %d records", tp.Lost))
	}
	if tp.Duplicates > 0 {
		res.Violations = append(res.Violations, fmt.Sprintf("crash-free run applied %d duplicate effects", tp.Duplicates))
	}
	if tp.Relay != nil && (tp.Relay.Missing > 0 || tp.Relay.Duplicates > 0) {
		res.Violations = append(res.Violations, fmt.Sprintf("crash-free run: the relay missed %d and repeated %d events", tp.Relay.Missing, tp.Relay.Duplicates))
	}
	if r.w.Crashes.PerPoint > 0 {
		c, err := r.crashes(ctx, p, busy)
		if err != nil {
			return res, fmt.Errorf("%s rep %d, crash phase: %w", p.Key, p.Repetition, err)
		}
		res.Crash = c
		res.Violations = append(res.Violations, check(info, p.Interval.Records, c)...)
	}
	res.FinishedAt = time.Now().UTC().Format(time.RFC3339Nano)
	return res, nil
}

// check compares a crash phase with the strategy's claim.
func check(info strategy.Info, records int64, c *results.Crash) []string {
	var v []string
	if info.Guarantee == strategy.AtLeastOnce || info.Guarantee == strategy.ExactlyOnce {
		if c.Lost > 0 {
			v = append(v, fmt.Sprintf("%s claims %s but lost %d records", info.Name, info.Guarantee, c.Lost))
		}
	}
	if info.Guarantee == strategy.AtMostOnce || info.Guarantee == strategy.ExactlyOnce {
		if c.Duplicates > 0 {
			v = append(v, fmt.Sprintf("%s claims %s but applied %d duplicate effects", info.Name, info.Guarantee, c.Duplicates))
		}
	}
	if c.ReplayBound != nil {
		for i, n := range c.ReplayPerCrash {
			if n > *c.ReplayBound {
				v = append(v, fmt.Sprintf("crash %d replayed %d records, above the bound of %d", i+1, n, *c.ReplayBound))
			}
		}
	}
	if c.Relay != nil && c.Relay.Missing > 0 {
		v = append(v, fmt.Sprintf("the outbox relay never published %d events", c.Relay.Missing))
	}
	if c.LossBound != nil {
		for i, n := range c.LostPerCrash {
			if n > *c.LossBound {
				v = append(v, fmt.Sprintf("crash %d lost %d records, above the bound of %d", i+1, n, *c.LossBound))
			}
		}
	}
	return v
}

// workerConfig is the configuration of the worker processes of a phase.
func (r *Runner) workerConfig(p spec.Point, phase, ledger string) worker.Config {
	group := fmt.Sprintf("commitbench-%s-p%d-%s", r.runID, p.Index, phase)
	cfg := worker.Config{
		Conn:       r.conn,
		Topic:      r.topic,
		Group:      group,
		Strategy:   p.Strategy,
		Interval:   p.Interval,
		Processing: r.w.Processing,
		Client:     r.w.Client,
		End:        r.end,
		Ledger:     ledger,
	}
	if r.w.Client.Static() {
		cfg.InstanceID = group + "-worker"
	}
	return cfg
}
