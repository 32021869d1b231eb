// Package runner executes a workload's points against a broker. For each
// point it runs a crash-free throughput phase and a crash phase with real
// worker processes, keeps the ledger of every record's effects, and turns
// the ledger and the workers' timing events into a Result.
package runner

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/buildinfo"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/network"
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

// WithSeededTopic reads a topic another runner on the same broker seeded
// (end is its partitions' end offsets) instead of seeding one: the two
// sides of an A/B run read one topic. The topic stays its seeder's to
// delete.
func WithSeededTopic(topic string, end map[int32]int64) Option {
	return func(r *Runner) { r.topic, r.end = topic, end }
}

// WithDescription records desc as the broker of every result instead of
// the broker's own description: an A/B side whose commits the shared
// embedded broker delays by its own amount says so.
func WithDescription(desc cluster.Description) Option {
	return func(r *Runner) { r.desc = &desc }
}

// GroupPrefix starts the name of every consumer group and transactional id
// of the run runID, so a broker can tell two runs apart.
func GroupPrefix(runID string) string { return "commitbench-" + runID + "-" }

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
	desc    *cluster.Description

	topic   string
	end     map[int32]int64
	machine results.Machine
	tmp     string // holds the phases' ledger files
	conn    cluster.Conn
	// adm serves every administrative request of the run (topics, load
	// readings), one client rather than one per request.
	adm   *kadm.Client
	admCl *kgo.Client
	// created is set once the source topic exists, so Close deletes even
	// a topic whose seeding was interrupted.
	created bool
	// proxy is the network profile's proxy (nil: none); conn routes every
	// client but the harness's own admin client through it.
	proxy *network.Proxy
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
		machine: results.Machine{
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
	if err := r.checkProtocols(ctx); err != nil {
		return err
	}
	if err := r.startNetwork(ctx); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "commitbench-ledger-")
	if err != nil {
		return fmt.Errorf("creating a directory for ledgers: %w", err)
	}
	r.tmp = tmp
	if r.end != nil {
		return nil // seeded by another runner (WithSeededTopic)
	}
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

// End is the end offset of each partition of the seeded topic.
func (r *Runner) End() map[int32]int64 { return r.end }

// Conn is how the runner's clients reach the broker.
func (r *Runner) Conn() cluster.Conn { return r.conn }

// Close deletes the source topic (unless the workload keeps topics) and
// the ledger files.
func (r *Runner) Close(ctx context.Context) error {
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
	if r.proxy != nil {
		r.proxy.Close()
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
// plans crashes) the crash phase, and checks the strategy's claim.
func (r *Runner) Point(ctx context.Context, p spec.Point) (results.Result, error) {
	strat, err := consume.For(p.Strategy)
	if err != nil {
		return results.Result{}, err
	}
	res := results.Result{
		SchemaVersion: results.SchemaVersion,
		RunID:         r.runID,
		Key:           p.Key,
		Workload:      r.w.Name,
		Strategy:      p.Strategy,
		Guarantee:     strat.Guarantee,
		Repetition:    p.Repetition,
		Interval:      p.Interval,
		Topic:         r.w.Topic,
		Processing:    r.w.Processing,
		Client:        r.w.Client,
		Crashes:       r.w.Crashes,
		WarmupRecords: r.w.WarmupRecords,
		Broker:        r.describe(),
		Machine:       r.machine,
		EffectsIn:     strat.Effects,
		StartedAt:     time.Now().UTC().Format(time.RFC3339Nano),
		Violations:    []string{},
	}
	if strat.Effects == strategy.EffectsDB {
		res.Sink = r.w.Sink.Kind
	}
	tp, err := r.throughput(ctx, p, strat)
	if err != nil {
		return res, fmt.Errorf("%s rep %d, throughput phase: %w", p.Key, p.Repetition, err)
	}
	res.Throughput = tp
	if r.w.Crashes.PerPoint > 0 {
		c, err := r.crashes(ctx, p, strat)
		if err != nil {
			return res, fmt.Errorf("%s rep %d, crash phase: %w", p.Key, p.Repetition, err)
		}
		res.Crash = c
	}
	if p.Group != nil {
		res.Group, res.Events, res.Faults = p.Group, r.w.Events, r.w.Faults
		s, err := r.scenario(ctx, p, strat)
		if err != nil {
			return res, fmt.Errorf("%s rep %d, scenario phase: %w", p.Key, p.Repetition, err)
		}
		res.Scenario = s
	}
	for _, b := range results.Check(res) {
		res.Violations = append(res.Violations, b.Detail)
	}
	res.FinishedAt = time.Now().UTC().Format(time.RFC3339Nano)
	return res, nil
}

func (r *Runner) describe() cluster.Description {
	d := r.b.Describe()
	if r.desc != nil {
		d = *r.desc
	}
	if n := r.w.Network; n.Enabled() {
		d.NetworkLatencyNs, d.NetworkJitterNs, d.NetworkBandwidthKBps = int64(n.Latency), int64(n.Jitter), n.BandwidthKBps
	}
	return d
}

// startNetwork starts the network profile's proxy, one per broker the
// cluster's metadata lists and per bootstrap address, and routes the run's
// clients through it. The harness's own admin client stays direct: its
// reads are not measured.
func (r *Runner) startNetwork(ctx context.Context) error {
	n := r.w.Network
	partition := slices.ContainsFunc(r.w.Faults, func(f spec.Fault) bool { return f.Kind == spec.FaultPartition })
	if !n.Enabled() && !partition {
		return nil // a partition cuts the proxy's connections: it needs one
	}
	brokers, err := r.adm.ListBrokers(ctx)
	if err != nil {
		return fmt.Errorf("listing the brokers to put behind the network profile: %w", err)
	}
	addrs := slices.Clone(r.conn.Bootstrap)
	for _, b := range brokers {
		addrs = append(addrs, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	slices.Sort(addrs)
	px, err := network.Start(network.Profile{Latency: n.Latency.D(), Jitter: n.Jitter.D(), BandwidthKBps: n.BandwidthKBps}, slices.Compact(addrs))
	if err != nil {
		return err
	}
	r.proxy = px
	r.conn.Proxies = px.Routes()
	return nil
}

// BareConfig is the configuration a bare consumer loop needs to consume the
// runner's topic as point p's worker would (commitbench anchor).
func (r *Runner) BareConfig(p spec.Point) worker.Config {
	return r.workerConfig(p, "bare", "")
}

// workerConfig is the configuration of the worker processes of a phase.
func (r *Runner) workerConfig(p spec.Point, phase, ledger string) worker.Config {
	group := fmt.Sprintf("%sp%d-%s", GroupPrefix(r.runID), p.Index, phase)
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

// checkProtocols refuses, before anything runs, a group under the consumer
// protocol (KIP-848) on a broker that does not speak it, or that would
// refuse the group's session timeout.
func (r *Runner) checkProtocols(ctx context.Context) error {
	i := slices.IndexFunc(r.w.Groups, func(g spec.Group) bool { return g.Protocol == spec.ProtocolConsumer })
	if i < 0 {
		return nil
	}
	if err := r.checkVersions(ctx, i); err != nil {
		return err
	}
	for i, g := range r.w.Groups {
		if g.Protocol != spec.ProtocolConsumer {
			continue
		}
		if err := broker.SetConsumerGroupSession(ctx, r.admCl, GroupPrefix(r.runID)+"check", g.SessionTimeout.D(), true); err != nil {
			return &spec.Error{Field: fmt.Sprintf("groups[%d].session_timeout", i),
				Problem: fmt.Sprintf("the broker keeps a consumer-protocol group's session timeout, and refused %s: %v", g.SessionTimeout, err),
				Fix:     "use a timeout within the broker's group.consumer.min.session.timeout.ms and group.consumer.max.session.timeout.ms (45s to 60s unless the cluster lowered them), and let this client alter group configs"}
		}
	}
	return nil
}

// checkVersions refuses a broker that does not speak the consumer
// protocol, which groups[i] asks for.
func (r *Runner) checkVersions(ctx context.Context, i int) error {
	vs, err := r.adm.ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("asking the broker which requests it speaks: %w", err)
	}
	for _, v := range vs {
		if v.Err != nil {
			return fmt.Errorf("asking broker %d which requests it speaks: %w", v.NodeID, v.Err)
		}
		if _, _, ok := v.KeyVersions(int16(kmsg.ConsumerGroupHeartbeat)); !ok {
			return &spec.Error{Field: fmt.Sprintf("groups[%d].protocol", i),
				Problem: fmt.Sprintf("consumer (KIP-848) needs ConsumerGroupHeartbeat, which broker %d does not speak (Kafka 4.0 or later does)", v.NodeID),
				Fix:     "use protocol: classic, or a newer broker"}
		}
	}
	return nil
}
