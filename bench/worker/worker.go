// Package worker is the consumer process that the runner starts, kills and
// restarts. It reads its Config on standard input, consumes under one
// strategy, applies each record's effect to the shared ledger (and
// publishes its progress and commits there), and writes timing events to
// the wire on file descriptor 3, so that a SIGKILL is a real crash and the
// parent still knows exactly what was applied before it.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/ledger"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// WireFD is the file descriptor the worker writes the wire stream to.
const WireFD = 3

// Config is everything one worker process needs.
type Config struct {
	Conn       cluster.Conn    `json:"conn"`
	Topic      string          `json:"topic"`
	Group      string          `json:"group"`
	InstanceID string          `json:"instance_id,omitempty"` // empty: dynamic membership
	Strategy   string          `json:"strategy"`
	Interval   spec.Interval   `json:"interval"`
	Processing spec.Processing `json:"processing"`
	Client     spec.Client     `json:"client"`
	End        map[int32]int64 `json:"end"`
	// Sink is the database of the strategies whose effects land there.
	Sink SinkConfig `json:"sink"`
	// Output is the topic the transactional strategy produces to.
	Output string `json:"output,omitempty"`
	// Ledger is the shared effect file the worker applies effects to, and
	// LedgerSlot where it publishes its running count (one per live process).
	Ledger     string `json:"ledger"`
	LedgerSlot int    `json:"ledger_slot"`
	// KillPoint, when set, makes the worker SIGKILL itself there.
	KillPoint *spec.KillPoint `json:"kill_point,omitempty"`
	// Member, when set, makes the worker one member of a group of several
	// with this set-up (a scenario phase): it runs until SIGTERM, then
	// leaves as a clean shutdown does.
	Member *spec.Group `json:"member,omitempty"`
}

// SinkConfig locates a phase's sink tables.
type SinkConfig struct {
	Kind   string `json:"kind,omitempty"`
	DSN    string `json:"dsn,omitempty"`
	Tables string `json:"tables,omitempty"` // table-name prefix
}

// ReadConfig decodes a Config.
func ReadConfig(r io.Reader) (Config, error) {
	var c Config
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("worker config: %w", err)
	}
	return c, nil
}

// Run consumes under cfg until the topic is consumed or ctx ends, writing
// the wire stream to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	strat, err := consume.For(cfg.Strategy)
	if err != nil {
		return err
	}
	events := wire.NewWriter(out)
	processed, err := ledger.Open(cfg.Ledger, cfg.End, cfg.LedgerSlot)
	if err != nil {
		return err
	}
	defer processed.Close()
	env := &consume.Env{
		Topic:   cfg.Topic,
		Group:   cfg.Group,
		Records: cfg.Interval.Records,
		Every:   cfg.Interval.Every.D(),
		MaxPoll: cfg.Client.MaxPollRecords,
		Work:    work(cfg.Processing),
		Ledger:  processed,
		Events:  events,
		End:     cfg.End,
		Output:  cfg.Output,
		// A member of such a strategy resumes from the sink too.
		SinkOffsets: strat.OffsetsInSink,
	}
	if strat.Effects == strategy.EffectsDB {
		db, err := sink.Open(ctx, cfg.Sink.Kind, cfg.Sink.DSN)
		if err != nil {
			return err
		}
		defer db.Close()
		env.DB, env.Tables = db, sink.TablesFor(cfg.Sink.Tables)
	}
	if cfg.Member != nil {
		return runMember(ctx, cfg, strat, env)
	}
	closeClients, err := newClients(ctx, cfg, strat, env)
	if err != nil {
		return err
	}
	defer closeClients()
	if env.Start == nil {
		if env.Start, err = committed(ctx, env.Client, cfg); err != nil {
			return err
		}
	}
	for p, o := range env.Start {
		if err := events.Event(wire.Frame{Kind: wire.Start, Partition: p, A: o}, false); err != nil {
			return fmt.Errorf("writing to parent: %w", err)
		}
	}
	// Where this worker resumes must reach the parent even if it dies
	// before its first record (a kill point in the relay, say): the
	// predecessor's replay is counted from it.
	if err := events.Flush(); err != nil {
		return fmt.Errorf("writing to parent: %w", err)
	}
	env.Init()
	if err := strat.Run(ctx, env); err != nil {
		return err
	}
	if !env.Done() {
		return ctx.Err()
	}
	return events.Event(wire.Frame{Kind: wire.Done, A: time.Now().UnixNano(), B: env.Processed()}, true)
}

// runMember runs one member of a group: the client learns its partitions
// from the group (no resume offsets of its own), the wire is flushed on a
// timer so an idle member's last frames still reach the harness, and the
// end is the harness's SIGTERM, after which the member leaves cleanly.
func runMember(ctx context.Context, cfg Config, strat consume.Strategy, env *consume.Env) error {
	env.Start = map[int32]int64{}
	env.Init() // before the client: its callbacks use the positions
	closeClients, err := newClients(ctx, cfg, strat, env)
	if err != nil {
		return err
	}
	defer closeClients()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = env.Events.Flush()
			}
		}
	}()
	if err := strat.Run(ctx, env); err != nil && ctx.Err() == nil {
		return err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := env.Leave(lctx, cfg.Member.CommitOnRevoke); err != nil {
		return fmt.Errorf("leaving the group: %w", err)
	}
	return env.Events.Event(wire.Frame{Kind: wire.Done, A: time.Now().UnixNano(), B: env.Processed()}, true)
}

// ClientOpts are the options every worker client shares, each setting that
// shapes the measurement given explicitly rather than left to kgo's
// defaults.
func ClientOpts(cfg Config) ([]kgo.Opt, error) {
	conn, err := broker.ClientOpts(cfg.Conn)
	if err != nil {
		return nil, err
	}
	c := cfg.Client
	return append(conn,
		kgo.ClientID("commitbench-worker"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(c.FetchMaxPartitionBytes),
		kgo.FetchMaxWait(c.FetchMaxWait.D()),
	), nil
}

// GroupOpts are the consumer-group options: a lone worker's, or a group
// member's set-up.
func GroupOpts(cfg Config) []kgo.Opt {
	session := cfg.Client.SessionTimeout.D()
	// A dead dynamic member holds its partitions until its session
	// expires; bounding the rebalance by the same time keeps recovery
	// honest about what the session timeout costs.
	rebalance := session
	balancer := kgo.CooperativeStickyBalancer()
	var extra []kgo.Opt
	if g := cfg.Member; g != nil {
		session, rebalance = g.SessionTimeout.D(), g.RebalanceTimeout.D()
		balancer = Balancer(g.Balancer)
		if g.Protocol == spec.ProtocolConsumer {
			extra = append(extra, kgo.ServerSideBalancer())
		}
		if g.BlockRebalanceOnPoll {
			extra = append(extra, kgo.BlockRebalanceOnPoll())
		}
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.SessionTimeout(session),
		kgo.HeartbeatInterval(session / 3),
		kgo.RebalanceTimeout(rebalance),
		kgo.Balancers(balancer),
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	return append(opts, extra...)
}

// Balancer maps a workload's balancer name to kgo's.
func Balancer(name string) kgo.GroupBalancer {
	switch name {
	case "range":
		return kgo.RangeBalancer()
	case "sticky":
		return kgo.StickyBalancer()
	}
	return kgo.CooperativeStickyBalancer()
}

// Codec maps a workload's compression name to kgo's codec.
func Codec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// storedOffsets reads where the database's results end (0 where none).
func storedOffsets(ctx context.Context, db *sink.DB, t sink.Tables, end map[int32]int64) (map[int32]int64, error) {
	stored, err := db.Offsets(ctx, t)
	if err != nil {
		return nil, err
	}
	start := make(map[int32]int64, len(end))
	for p := range end {
		start[p] = stored[p]
	}
	return start, nil
}

// committed returns the group's committed offset of every partition (0
// where none), which is where this process resumes.
func committed(ctx context.Context, cl *kgo.Client, cfg Config) (map[int32]int64, error) {
	got, err := consume.CommittedOffsets(ctx, cl, cfg.Group, cfg.Topic, cfg.End)
	if err != nil {
		return nil, err
	}
	start := make(map[int32]int64, len(cfg.End))
	for p := range cfg.End {
		start[p] = got[p]
	}
	return start, nil
}

// work returns the per-record cost: a CPU spin, then a sleep; nil when
// there is none, so a record without work pays no call.
func work(p spec.Processing) func() {
	cpu := time.Duration(p.CPUMicros * float64(time.Microsecond))
	sleep := time.Duration(p.SleepMicros * float64(time.Microsecond))
	if cpu <= 0 && sleep <= 0 {
		return nil
	}
	return func() {
		if cpu > 0 {
			for t := time.Now(); time.Since(t) < cpu; {
			}
		}
		if sleep > 0 {
			time.Sleep(sleep)
		}
	}
}

// commitHook reports every commit request's time on the wire, apart from the
// client's own queueing that the call latency includes, and passes the
// commit-sent kill point once a commit request is written.
type commitHook struct {
	sink   *wire.Writer
	key    int16
	killer *killer
}

func (h commitHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == h.key && err == nil {
		h.killer.reach(strategy.KillCommitSent)
	}
}

var _ kgo.HookBrokerWrite = commitHook{}

func (h commitHook) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != h.key || e2e.Err() != nil {
		return
	}
	_ = h.sink.Event(wire.Frame{Kind: wire.CommitOnWire, A: time.Now().UnixNano(), B: int64(e2e.DurationE2E())}, false)
}

var _ kgo.HookBrokerE2E = commitHook{}

// killer SIGKILLs this process the chosen time it passes its kill point: a
// real crash at a deterministic moment. Loops, the relay and client hooks
// pass points from several goroutines. A pausable one also stops this
// process (SIGSTOP) at the first commit due after a SIGUSR1: the harness's
// pause at the worst moment.
type killer struct {
	kp     *spec.KillPoint
	events *wire.Writer
	seen   atomic.Int64
	armed  atomic.Bool
}

// pausable arms the pause at the next commit due on every SIGUSR1, and
// returns the call the loop makes where a commit falls due.
func (k *killer) pausable() func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		for range ch {
			k.armed.Store(true)
		}
	}()
	return k.pause
}

// pause stops this process (SIGSTOP) if a pause is armed; SIGCONT resumes
// it on into the commit. It returns only once the SIGCONT came: a signal
// a process sends itself stops it a moment later, and the loop, going on
// meanwhile, had sent its commit before it stopped (the zombie then held
// nothing uncommitted, in 1 of 5 runs on two busy cores).
func (k *killer) pause() {
	if !k.armed.CompareAndSwap(true, false) {
		return
	}
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	// Urgent: the harness times the pause from this frame.
	_ = k.events.Event(wire.Frame{Kind: wire.Paused, A: time.Now().UnixNano()}, true)
	if err := syscall.Kill(os.Getpid(), syscall.SIGSTOP); err != nil {
		return
	}
	<-cont
}

func newKiller(kp *spec.KillPoint, events *wire.Writer) *killer {
	return &killer{kp: kp, events: events}
}

func (k *killer) reach(point string) {
	if k.kp == nil || point != k.kp.Point {
		return
	}
	if k.seen.Add(1) == int64(k.kp.Occurrence) {
		// The moment, urgently, for the recovery figures; nothing else
		// is flushed on purpose: what a crash would lose is lost (the
		// urgent write does send what was queued before it).
		_ = k.events.Event(wire.Frame{Kind: wire.Killed, A: time.Now().UnixNano()}, true)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is delivered; never go on past the point
	}
}
