package runner

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commitbench/commitbench/bench/ledger"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
	"github.com/commitbench/commitbench/bench/worker"
)

// sample is a timestamped value from a worker (Unix ns, value).
type sample struct{ at, v int64 }

// newPhase creates the phase's shared ledger and, for strategies whose
// effects land elsewhere, its sink tables or output topic.
func (r *Runner) newPhase(ctx context.Context, p spec.Point, name string) (ph *phase, err error) {
	info, err := strategy.Lookup(p.Strategy)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("p%d-%s", p.Index, name)
	path := filepath.Join(r.tmp, id)
	l, err := ledger.Create(path, r.end)
	if err != nil {
		return nil, err
	}
	// On error the caller still closes what was made (it always closes
	// a returned phase).
	ph = &phase{name: name, point: p, info: info, ledger: l, path: path, r: r}
	ph.cfg = r.workerConfig(p, name, path)
	switch info.Effects {
	case strategy.EffectsDB:
		ph.cfg.Sink = worker.SinkConfig{Kind: r.w.Sink.Kind, DSN: r.w.Sink.DSN,
			Tables: tablePrefix(r.runID, id)}
		if r.w.Sink.Kind == sink.SQLite {
			ph.cfg.Sink.DSN = path + ".db"
		}
		if ph.db, err = sink.Open(ctx, ph.cfg.Sink.Kind, ph.cfg.Sink.DSN); err != nil {
			return ph, err
		}
		ph.tables = sink.TablesFor(ph.cfg.Sink.Tables)
		if err := ph.db.Setup(ctx, ph.tables, p.Strategy == strategy.Idempotent); err != nil {
			return ph, err
		}
	}
	if info.Effects == strategy.EffectsTopic || info.Relay {
		ph.cfg.Output = r.topic + "-" + id + "-out"
		if err := createTopic(ctx, r.adm, ph.cfg.Output, r.w.Topic.Partitions); err != nil {
			return ph, err
		}
	}
	return ph, nil
}

// tablePrefix names a phase's tables: unique per run and phase, and short,
// since PostgreSQL truncates identifiers at 63 bytes (silently, so a long
// run id would make two tables' names collide).
func tablePrefix(runID, phase string) string {
	sum := sha256.Sum256([]byte(runID + "/" + phase))
	return fmt.Sprintf("cb_%x_%s", sum[:6], strings.ReplaceAll(phase, "-", "_"))
}

// close releases the phase's ledger, sink tables and output topic.
func (ph *phase) close(ctx context.Context) {
	ph.ledger.Close()
	os.Remove(ph.path)
	if ph.db != nil {
		if ph.db.Kind() == sink.SQLite {
			ph.db.Close()
			for _, suffix := range []string{".db", ".db-wal", ".db-shm"} {
				os.Remove(ph.path + suffix)
			}
		} else {
			ph.db.Drop(ctx, ph.tables)
			ph.db.Close()
		}
	}
	if ph.cfg.Output != "" && !ph.r.w.Broker.KeepTopics {
		deleteTopic(ctx, ph.r.adm, ph.cfg.Output)
	}
}

// effects returns the ledger of the phase's effects where the strategy
// puts them: the shared ledger, the sink's result rows, or the output
// topic read committed.
func (ph *phase) effects(ctx context.Context) (*ledger.Ledger, error) {
	switch ph.info.Effects {
	case strategy.EffectsDB:
		l := ledger.New(ph.r.end)
		return l, ph.db.EachResult(ctx, ph.tables, l.Apply)
	case strategy.EffectsTopic:
		l := ledger.New(ph.r.end)
		return l, readCommitted(ctx, ph.r.conn, ph.cfg.Output, ph.r.end, ph.r.stall, l.Apply)
	}
	return ph.ledger, nil
}

// relay reads the outbox relay's output topic: what it published, what it
// published twice, and what a consumer deduplicating by outbox id misses.
func (ph *phase) relay(ctx context.Context) (*results.Relay, error) {
	if !ph.info.Relay {
		return nil, nil
	}
	l := ledger.New(ph.r.end)
	if err := readCommitted(ctx, ph.r.conn, ph.cfg.Output, ph.r.end, ph.r.stall, l.Apply); err != nil {
		return nil, err
	}
	t := l.Tally()
	h := metrics.NewHistogram()
	for _, s := range ph.lags {
		metrics.Record(h, time.Duration(s.v))
	}
	return &results.Relay{Published: t.Applied, Duplicates: t.Duplicates, Missing: t.Lost, Lag: metrics.Summarize(h)}, nil
}

// phase gathers what the workers of one phase report.
type phase struct {
	r        *Runner
	info     strategy.Info
	cfg      worker.Config
	db       *sink.DB
	tables   sink.Tables
	path     string
	name     string
	point    spec.Point
	ledger   *ledger.Ledger
	progress []sample // cumulative records processed, per process
	commits  []sample // commit call latencies
	lags     []sample // outbox relay lags
	autos    []int64  // times of kgo autocommits (no call latency)
	wire     []sample // OffsetCommit wire latencies
	failed   int64
}

// proc is one worker process within a phase.
type proc struct {
	s       *session
	firstAt int64 // Unix ns of its first processed record, 0 before
	doneAt  int64 // Unix ns of reaching the end, 0 before
	starts  map[int32]int64
	base    int64 // records processed by earlier processes of the phase
}

func (ph *phase) handle(pr *proc, f wire.Frame) error {
	switch f.Kind {
	case wire.Commit:
		ph.commits = append(ph.commits, sample{f.A, f.B})
	case wire.RelayLag:
		ph.lags = append(ph.lags, sample{f.A, f.B})
	case wire.AutoCommit:
		ph.autos = append(ph.autos, f.A)
	case wire.WireCommit:
		ph.wire = append(ph.wire, sample{f.A, f.B})
	case wire.Progress:
		ph.progress = append(ph.progress, sample{f.A, pr.base + f.B})
	case wire.First:
		pr.firstAt = f.A
	case wire.Done:
		pr.doneAt = f.A
	case wire.Start:
		pr.starts[f.Partition] = f.A
	case wire.Failed:
		ph.failed++
	default:
		return fmt.Errorf("unknown frame kind %q from worker", f.Kind)
	}
	return nil
}

// pump feeds a worker's frames to the phase until the worker exits. With
// killAfter ≥ 0 it SIGKILLs the worker that long after its first record
// and reports when (a zero time: not killed).
func (r *Runner) pump(ctx context.Context, ph *phase, pr *proc, killAfter time.Duration) (killedAt time.Time, err error) {
	stall := time.NewTimer(r.stall)
	defer stall.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var kill *time.Timer
	var killC <-chan time.Time
	defer func() {
		if kill != nil {
			kill.Stop()
		}
	}()
	// abort kills the worker and drains what it wrote before dying.
	abort := func() (time.Time, error) {
		at, err := pr.s.kill()
		if err != nil {
			return at, fmt.Errorf("killing worker: %w", err)
		}
		var herr error
		for f := range pr.s.frames {
			if herr == nil {
				herr = ph.handle(pr, f)
			}
		}
		if err := pr.s.wait(); err != nil {
			return at, err
		}
		return at, herr
	}
	for {
		select {
		case f, ok := <-pr.s.frames:
			if !ok {
				err := pr.s.wait()
				if ctx.Err() != nil {
					return time.Time{}, ctx.Err() // the worker saw the interrupt first
				}
				if err != nil {
					return time.Time{}, err
				}
				if pr.doneAt == 0 {
					return time.Time{}, fmt.Errorf("worker exited before consuming the topic: %s", pr.s.stderr.String())
				}
				return time.Time{}, nil
			}
			if err := ph.handle(pr, f); err != nil {
				_, _ = abort()
				return time.Time{}, err
			}
			if !stall.Stop() {
				<-stall.C
			}
			stall.Reset(r.stall)
			if killAfter >= 0 && kill == nil && pr.firstAt != 0 && pr.doneAt == 0 {
				kill = time.NewTimer(time.Until(time.Unix(0, pr.firstAt).Add(killAfter)))
				killC = kill.C
			}
		case <-killC:
			if pr.doneAt != 0 {
				// It finished first: a kill now would be no crash at all.
				killC = nil
				continue
			}
			return abort()
		case <-stall.C:
			_, _ = abort()
			return time.Time{}, fmt.Errorf("worker sent nothing for %s (is the broker reachable and the group stable?): %s", r.stall, pr.s.stderr.String())
		case <-ctx.Done():
			_, _ = abort()
			return time.Time{}, ctx.Err()
		case <-tick.C:
			r.observe(Event{Point: ph.point, Phase: ph.name, Applied: lastProgress(ph.progress), Records: r.w.Topic.Records})
		}
	}
}

// throughput runs the crash-free phase: one worker consumes the topic. It
// also returns how long the worker was busy, which plans the crash phase.
func (r *Runner) throughput(ctx context.Context, p spec.Point) (results.Throughput, time.Duration, error) {
	ph, err := r.newPhase(ctx, p, "tput")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return results.Throughput{}, 0, err
	}
	before := r.load(ctx)
	s, err := start(ctx, r.worker, ph.cfg)
	if err != nil {
		return results.Throughput{}, 0, err
	}
	pr := &proc{s: s, starts: map[int32]int64{}}
	began := time.Now()
	if _, err := r.pump(ctx, ph, pr, -1); err != nil {
		return results.Throughput{}, 0, err
	}
	wall := time.Since(began)
	cpu, offRecords, offBytes := r.load(ctx).since(before)
	eff, err := ph.effects(ctx)
	if err != nil {
		return results.Throughput{}, 0, err
	}
	tally := eff.Tally()
	t := results.Throughput{
		Records:             tally.Records,
		WarmupRecords:       r.w.WarmupRecords,
		FailedCommits:       ph.failed,
		Commits:             int64(len(ph.commits) + len(ph.autos)),
		WorkerCPUSeconds:    s.cpuSeconds(),
		BrokerCPUSeconds:    cpu,
		OffsetsTopicRecords: offRecords,
		OffsetsTopicBytes:   offBytes,
		WallSeconds:         wall.Seconds(),
		Lost:                tally.Lost,
		Duplicates:          tally.Duplicates,
	}
	from, to, err := steadyWindow(ph.progress, r.w.WarmupRecords)
	if err != nil {
		return t, 0, err
	}
	secs := float64(to.at-from.at) / 1e9
	t.MeasuredRecords = to.v - from.v
	t.MeasuredSeconds = secs
	t.RecordsPerSec = float64(t.MeasuredRecords) / secs
	call, wire := metrics.NewHistogram(), metrics.NewHistogram()
	inWindow := func(ss []sample, h *hdrhistogram.Histogram) (n int64) {
		for _, c := range ss {
			if c.at > from.at && c.at <= to.at {
				metrics.Record(h, time.Duration(c.v))
				n++
			}
		}
		return n
	}
	autos := 0
	for _, at := range ph.autos {
		if at > from.at && at <= to.at {
			autos++
		}
	}
	t.CommitsPerSec = float64(inWindow(ph.commits, call)+int64(autos)) / secs
	inWindow(ph.wire, wire)
	t.CommitLatency, t.WireCommitLatency = metrics.Summarize(call), metrics.Summarize(wire)
	if t.Relay, err = ph.relay(ctx); err != nil {
		return t, 0, err
	}
	if t.CommitLatencyHist, err = metrics.Encode(call); err != nil {
		return t, 0, err
	}
	if t.WireCommitLatencyHist, err = metrics.Encode(wire); err != nil {
		return t, 0, err
	}
	return t, time.Duration(pr.doneAt - pr.firstAt), nil
}

// steadyWindow picks the measured window from cumulative progress samples:
// from the first sample past the warm-up to the first sample at the final
// count (later samples only add shutdown).
func steadyWindow(ps []sample, warmup int64) (from, to sample, err error) {
	if len(ps) < 2 {
		return from, to, errors.New("too few progress samples to measure throughput: raise topic.records")
	}
	to = ps[len(ps)-1]
	for i := len(ps) - 1; i >= 0 && ps[i].v == to.v; i-- {
		to = ps[i]
	}
	from = ps[0]
	for _, s := range ps {
		if s.v >= warmup {
			from = s
			break
		}
	}
	if to.at <= from.at || to.v <= from.v {
		return from, to, fmt.Errorf("the run after %d warm-up records was too short to measure: raise topic.records or lower warmup_records", warmup)
	}
	return from, to, nil
}

// crashRec is what the crash phase knows about one kill.
type crashRec struct {
	killAt   time.Time
	started  map[int32]int64 // where the killed worker had resumed
	before   ledger.Snapshot // the ledger when the killed worker started
	after    ledger.Snapshot // the ledger when the killed worker was drained
	recovery time.Duration   // kill → the replacement's first record; <0 if none
	resumed  map[int32]int64 // where the replacement resumed
}

// crashes runs the crash phase: the worker is SIGKILLed at seeded random
// moments and replaced until the topic is consumed. busy is how long one
// worker took to consume it in the throughput phase; kills are spread over
// that span.
func (r *Runner) crashes(ctx context.Context, p spec.Point, busy time.Duration) (*results.Crash, error) {
	ph, err := r.newPhase(ctx, p, "crash")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return nil, err
	}
	k := r.w.Crashes.PerPoint
	// Seeded by the cell and repetition, not the point's place in the
	// run, so the kill moments stay the same when workloads are combined.
	cell := fnv.New64a()
	fmt.Fprintf(cell, "%s#%d", p.Key, p.Repetition)
	rng := rand.New(rand.NewPCG(uint64(r.w.Crashes.Seed), cell.Sum64()))
	slot := busy / time.Duration(k+1)
	began := time.Now()
	var recs []crashRec
	var base int64
	before := ph.ledger.Snapshot()
	for {
		s, err := start(ctx, r.worker, ph.cfg)
		if err != nil {
			return nil, err
		}
		pr := &proc{s: s, starts: map[int32]int64{}, base: base}
		delay := time.Duration(-1)
		if len(recs) < k {
			// Uniform within the middle of a slot, so a kill lands at a
			// random point of the commit cycle and the worker is busy.
			delay = time.Duration(float64(slot) * (0.1 + 0.8*rng.Float64()))
		}
		killAt, err := r.pump(ctx, ph, pr, delay)
		if err != nil {
			return nil, err
		}
		killed := !killAt.IsZero()
		if n := len(recs); n > 0 {
			last := &recs[n-1]
			last.resumed = pr.starts
			last.recovery = -1
			if pr.firstAt != 0 {
				last.recovery = time.Unix(0, pr.firstAt).Sub(last.killAt)
			}
		}
		base = lastProgress(ph.progress)
		if !killed {
			break
		}
		fmt.Fprintf(r.log, "%s rep %d: SIGKILL %d after %s of work\n", p.Key, p.Repetition, len(recs)+1, delay.Round(time.Microsecond))
		after := ph.ledger.Snapshot()
		recs = append(recs, crashRec{killAt: killAt, started: pr.starts, before: before, after: after})
		before = after
	}
	wall := time.Since(began)
	eff, err := ph.effects(ctx)
	if err != nil {
		return nil, err
	}
	tally := eff.Tally()
	relay, err := ph.relay(ctx)
	if err != nil {
		return nil, err
	}
	c := &results.Crash{
		Relay:          relay,
		Planned:        k,
		Kills:          len(recs),
		ReplayPerCrash: []int64{},
		LostPerCrash:   []int64{},
		RecoveryMs:     []float64{},
		Lost:           tally.Lost,
		Duplicates:     tally.Duplicates,
		StaticMembers:  r.w.Client.Static(),
		WallSeconds:    wall.Seconds(),
	}
	for _, rec := range recs {
		// What the kill replays: records the killed worker applied at or
		// past where its replacement resumed.
		replay := appliedBetween(rec.before, rec.after, rec.resumed)
		c.ReplayPerCrash = append(c.ReplayPerCrash, replay)
		c.ReplayMax = max(c.ReplayMax, replay)
		c.ReplayMean += float64(replay) / float64(len(recs))
		// What the kill lost: records from where the killed worker
		// resumed to where its replacement did, whose effect never
		// landed. Later workers never go below their resume point, and
		// these ranges are disjoint, so the losses add up to the total.
		var lost int64
		for p, from := range rec.started {
			lost += eff.LostIn(p, from, rec.resumed[p])
		}
		c.LostPerCrash = append(c.LostPerCrash, lost)
		if rec.recovery >= 0 {
			ms := float64(rec.recovery) / float64(time.Millisecond)
			c.RecoveryMs = append(c.RecoveryMs, ms)
			c.RecoveryMaxMs = max(c.RecoveryMaxMs, ms)
			c.RecoveryMeanMs += ms
		}
	}
	if n := len(c.RecoveryMs); n > 0 {
		c.RecoveryMeanMs /= float64(n)
	}
	if b, ok := ph.info.ReplayBound(p.Interval.Records); ok {
		c.ReplayBound = &b
	}
	if b, ok := ph.info.LossBound(p.Interval.Records); ok {
		c.LossBound = &b
	}
	return c, nil
}

// appliedBetween counts records at or past from[p] whose count rose from
// snapshot a to snapshot b.
func appliedBetween(a, b ledger.Snapshot, from map[int32]int64) int64 {
	var n int64
	for p, cb := range b {
		ca := a[p]
		for o := max(from[p], 0); o < int64(len(cb)); o++ {
			if cb[o] > ca[o] {
				n++
			}
		}
	}
	return n
}

func lastProgress(ps []sample) int64 {
	if len(ps) == 0 {
		return 0
	}
	return ps[len(ps)-1].v
}
