package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/wire"
)

// Env is what a consume loop works with: the group client, the commit
// interval, the per-record work, the sink its effects go to, and where the
// topic ends.
type Env struct {
	// Client is a group consumer on the source topic.
	Client *kgo.Client
	// Topic is the source topic, and Group the consumer group (empty when
	// the strategy keeps its offsets in its sink).
	Topic string
	Group string
	// Records and Every are the commit interval (0 = unset).
	Records int64
	Every   time.Duration
	// MaxPoll bounds the records one poll returns.
	MaxPoll int
	// Work applies the per-record processing cost (nil: none).
	Work func()
	// Ledger is where processing a record lands: its counter in the
	// ledger the harness shares rises at once.
	Ledger Applier
	// Events carries timing events to the harness.
	Events *wire.Writer
	// End is the end offset of each partition: the loop stops once every
	// partition's position reaches it.
	End map[int32]int64
	// Start is each partition's position before the first poll (the
	// committed offset, or 0).
	Start map[int32]int64
	// DB and Tables are the sink database of the EffectsDB strategies.
	DB     *sink.DB
	Tables sink.Tables
	// Session is the transactional strategy's client (Client is its
	// consumer); Output is the topic it produces to.
	Session *kgo.GroupTransactSession
	Output  string
	// Producer is the outbox relay's idempotent producer.
	Producer *kgo.Client
	// Reach, when set, is called at every kill point the loop passes
	// (strategy.Kill*): how crashes.kill_point kills the worker there.
	Reach func(point string)
	// Pause, when set, is called where a commit falls due and is about to
	// be made (strategy.PauseCommitDue): how a group member is stopped at
	// that point. Apart from Reach, so a member without a kill point pays
	// no call per record.
	Pause func()
	// Member makes the loop one member of a group of several (MemberOpts):
	// it commits only the partitions it owns, goes on when the group
	// rejects a commit, and runs until its context ends.
	Member bool
	// CommitRetryFor is how long a member retries a synchronous commit
	// that failed for a reason that passes (the group's session timeout;
	// set for members only); 0: it does not.
	CommitRetryFor time.Duration
	// SinkOffsets: the strategy keeps its offsets in the sink
	// (strategy.Info.OffsetsInSink). A member resumes every partition it is
	// given from there and never commits to the group.
	SinkOffsets bool

	// resolve ends a database member's open transaction when its
	// ownership changes: committed (a revoke, a clean leave) or rolled back
	// (partitions lost). Set by the database loop; nil otherwise.
	resolve func(commit bool, leaving []int32) error
	// endTxn ends a transactional member's open transaction at its clean
	// leave, outside the member's lock (the session's callbacks hold the
	// lock End needs). Set by the transactional loop; nil otherwise.
	endTxn func() error
	// drain publishes what an outbox member's relay has left of the
	// partitions it owns, at its clean leave, and stops the relay. Set by
	// the outbox loop; nil otherwise.
	drain func(context.Context) error
	// scope is the partitions a member's outbox relay publishes (set by
	// MemberOpts, kept by its callbacks).
	scope *relayScope

	// memberMu serialises a member's processing of a poll with the group's
	// callbacks, as an application must (or use BlockRebalanceOnPoll).
	memberMu sync.Mutex
	owned    []bool // indexed by partition: the member owns it now
	touched  []bool // processed since the last PartProgress report
	closing  atomic.Bool
	// seeks counts seekOwned's rewinds: a poll's records accepted before
	// one must be accepted again after it.
	seeks int

	parts     []partState // indexed by partition: the per-record path uses no map
	remaining int         // partitions whose position is short of End
	processed int64
	first     bool
	lastProg  time.Time
}

// partState tracks one partition of the source topic.
type partState struct {
	known bool  // the partition is in End
	end   int64 // End[p]
	next  int64 // next offset to process
	epoch int32 // leader epoch of the last processed record
	// stored is the offset the sink holds for the partition as this
	// process last read or wrote it: what its next write expects there.
	stored int64
	// done is a transactional member's next offset as far as its last
	// committed transaction (-1: none since it was given the partition):
	// what it reports as its progress, so the harness never ends the phase
	// on records an aborted transaction will process again.
	done int64
	// seeking: a database member was given the partition, or rewound it,
	// at next, and skips every record until the one at next comes (records
	// fetched before the seek may still be buffered). fresh: that record
	// came and has not been reported yet.
	seeking, fresh bool
}

// Applier counts a processed record and publishes the commits that
// succeeded (the shared ledger).
type Applier interface {
	Apply(partition int32, offset int64) error
	// Committed says a commit ending at atNs covered the first covered
	// records this process processed.
	Committed(covered, atNs int64)
	// Issued says a commit was issued without waiting, covering the first
	// covered records, held back held records after it fell due.
	Issued(covered, held int64)
	// Count is the effects this process's slot has published, what the
	// harness reads as the slot's count.
	Count() int64
}

// Init prepares the position tracking; call it once before Run.
func (e *Env) Init() {
	n := int32(0)
	for p := range e.End {
		n = max(n, p+1)
	}
	e.parts = make([]partState, n)
	for p, end := range e.End {
		e.parts[p] = partState{known: true, end: end, stored: e.Start[p]}
	}
	e.owned, e.touched = make([]bool, n), make([]bool, n)
	e.rewind(e.Start)
}

// rewind sets every partition's position, as after a restart or an
// aborted transaction, and recounts the partitions short of their end.
func (e *Env) rewind(to map[int32]int64) {
	e.remaining = 0
	for p := range e.parts {
		ps := &e.parts[p]
		if !ps.known {
			continue
		}
		ps.next, ps.epoch = to[int32(p)], -1
		if ps.next < ps.end {
			e.remaining++
		}
	}
}

// reach marks a kill point passed.
func (e *Env) reach(point string) {
	if e.Reach != nil {
		e.Reach(point)
	}
}

// pause marks a commit due, about to be made.
func (e *Env) pause() {
	if e.Pause != nil {
		e.Pause()
	}
}

// Done reports whether every partition has been consumed to its end. A
// group member is never done by itself: the harness ends it.
func (e *Env) Done() bool { return e.remaining == 0 && !e.Member }

// Processed is how many records this process has applied.
func (e *Env) Processed() int64 { return e.processed }

// poll returns the next records. A nil slice with a nil error means the
// context ended.
func (e *Env) poll(ctx context.Context, max int) ([]*kgo.Record, error) {
	fs := e.Client.PollRecords(ctx, max)
	if err := FetchErr(fs); err != nil {
		// A group member expelled from its group (a zombie), or whose
		// join failed (kgo injects ErrGroupSession after calling
		// OnPartitionsLost), hears it here; kgo rejoins by itself, as an
		// application's loop would let it.
		if !e.Member || !memberGoesOn(err) {
			return nil, err
		}
	}
	return fs.Records(), nil
}

// memberGoesOn reports whether a group member's poll error is one kgo
// recovers from: the member was expelled or its join failed (it rejoins),
// or the fetch failed for a reason that passes (it fetches again; a
// killed broker's fetch surfaced "broker closed the connection").
func memberGoesOn(err error) bool {
	var session *kgo.ErrGroupSession
	_, ok := rejected(err)
	return ok || errors.As(err, &session) || transient(err)
}

// ctxErr returns err if it is a context's end, else nil.
func ctxErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// apply processes one record: the work, then its effect, which lands at
// once, as a write to a real sink would.
func (e *Env) apply(r *kgo.Record) error {
	if e.Work != nil {
		e.Work()
	}
	if err := e.Ledger.Apply(r.Partition, r.Offset); err != nil {
		return fmt.Errorf("applying effect: %w", err)
	}
	e.processed++
	if int(r.Partition) >= len(e.parts) || !e.parts[r.Partition].known {
		return fmt.Errorf("record from partition %d, which the topic did not have", r.Partition)
	}
	ps := &e.parts[r.Partition]
	n := r.Offset + 1
	if e.Member {
		return e.applyMember(r, ps, n)
	}
	if ps.next < ps.end && n >= ps.end {
		e.remaining--
		if e.remaining == 0 {
			// The window ends here, with the last record, before any
			// ending work of the strategy's.
			if err := e.progress(true); err != nil {
				return err
			}
		}
	}
	if n > ps.next {
		ps.next, ps.epoch = n, r.LeaderEpoch
	}
	if !e.first {
		e.first = true
		now := time.Now()
		e.lastProg = now
		return e.Events.Event(wire.Frame{Kind: wire.First, A: now.UnixNano(), B: e.processed}, true)
	}
	return nil
}

// applyMember tracks a group member's position in a record's partition:
// its first record since the partition was given to it, and the partition's
// end, are reported at once (the harness times hand-overs by them).
func (e *Env) applyMember(r *kgo.Record, ps *partState, n int64) error {
	first, end := ps.next < 0 || ps.fresh, ps.next < ps.end && n >= ps.end
	ps.fresh = false
	if n > ps.next {
		ps.next, ps.epoch = n, r.LeaderEpoch
	}
	e.touched[r.Partition] = true
	if e.Session != nil {
		end = false // reported when the transaction commits (txnEnded)
	}
	if first || end {
		e.touched[r.Partition] = false
		return e.Events.Event(wire.Frame{Kind: wire.PartProgress, Partition: r.Partition, A: time.Now().UnixNano(), B: e.progressOf(r.Partition)}, end)
	}
	return nil
}

// progressOf is how far a member reports it got in partition p: its next
// offset, or a transactional member's as of its last committed
// transaction.
func (e *Env) progressOf(p int32) int64 {
	if e.Session != nil {
		return e.parts[p].done
	}
	return e.parts[p].next
}

// progress emits a progress event at most every 5 ms; call it between
// polls. Throughput is computed from these worker-side timestamps, so the
// pipe's buffering does not blur it.
func (e *Env) progress(force bool) error {
	now := time.Now()
	if !force && now.Sub(e.lastProg) < 5*time.Millisecond {
		return nil
	}
	e.lastProg = now
	if e.Member {
		e.memberProgress(now)
	}
	return e.Events.Event(wire.Frame{Kind: wire.Progress, A: now.UnixNano(), B: e.processed}, false)
}

// nextOffsets is the next offset of every partition that moved past its
// start (of a member: that it owns and moved past what is stored), as the
// database stores it.
func (e *Env) nextOffsets() map[int32]int64 {
	m := make(map[int32]int64, len(e.parts))
	for p, ps := range e.parts {
		switch {
		case !ps.known:
		case e.Member:
			if e.owned[p] && !ps.seeking && ps.next > ps.stored {
				m[int32(p)] = ps.next
			}
		case ps.next > e.Start[int32(p)]:
			m[int32(p)] = ps.next
		}
	}
	return m
}

// expectedOffsets is, for every partition of next, the offset the sink
// holds for it as far as this process knows: the condition of a fenced
// write.
func (e *Env) expectedOffsets(next map[int32]int64) map[int32]int64 {
	m := make(map[int32]int64, len(next))
	for p := range next {
		m[p] = e.parts[p].stored
	}
	return m
}

// storedAt records that the sink now holds next.
func (e *Env) storedAt(next map[int32]int64) {
	for p, o := range next {
		e.parts[p].stored = o
	}
}

// positions returns the offsets to commit: the next offset of every
// partition that moved past its start (of a member: that it owns and
// processed since it was given it).
func (e *Env) positions() map[string]map[int32]kgo.EpochOffset {
	if e.Member {
		return e.ownedPositions(nil)
	}
	m := make(map[int32]kgo.EpochOffset, len(e.parts))
	for p, ps := range e.parts {
		if ps.known && ps.next > e.Start[int32(p)] {
			m[int32(p)] = kgo.EpochOffset{Epoch: ps.epoch, Offset: ps.next}
		}
	}
	return map[string]map[int32]kgo.EpochOffset{e.Topic: m}
}

// commitSync commits offsets, waits for the broker and reports the call's
// latency. A failed commit is reported and returned.
func (e *Env) commitSync(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	start, covered := time.Now(), e.processed
	err := e.commitKafka(ctx, offsets)
	// A member retries a commit that failed for a reason that passes,
	// processing nothing meanwhile, for up to its session timeout: going
	// on instead, it processed 26,000 records on buffered fetches while
	// every commit failed against a killed broker, all replayed once it
	// lost its partitions. Past the session it has lost them anyway.
	for backoff := 100 * time.Millisecond; err != nil && e.CommitRetryFor > 0 && transient(err) && time.Since(start) < e.CommitRetryFor; backoff = min(2*backoff, time.Second) {
		_ = e.Events.Event(wire.Frame{Kind: wire.Failed, A: time.Now().UnixNano(), B: errCode(err)}, false)
		select {
		case <-ctx.Done():
			return e.reportCommit(start, covered, err)
		case <-time.After(backoff):
		}
		err = e.commitKafka(ctx, offsets)
	}
	return e.reportCommit(start, covered, err)
}

// commitKafka commits offsets to the group and waits, unreported.
func (e *Env) commitKafka(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	var cerr error
	e.Client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = CommitErr(resp, err)
	})
	return cerr
}

// reportCommit reports a commit that began at start, covering the first
// covered records this process processed, and ended now with err.
func (e *Env) reportCommit(start time.Time, covered int64, err error) error {
	end := time.Now()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		_ = e.Events.Event(wire.Frame{Kind: wire.Failed, A: end.UnixNano(), B: errCode(err)}, false)
		// Refused, or failed for a reason that passes: not landed either
		// way, and a member goes on.
		if _, ok := rejected(err); e.Member && (ok || transient(err)) {
			return fmt.Errorf("commit: %w: %w", errRejected, err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	e.Ledger.Committed(covered, end.UnixNano())
	return e.Events.Event(wire.Frame{Kind: wire.Commit, A: end.UnixNano(), B: int64(end.Sub(start))}, false)
}

// CommitErr folds a commit response's per-partition errors into one.
func CommitErr(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s[%d]: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// trigger fires when a commit is due: Records records, or Every of time,
// since the last commit, whichever comes first. The time limit is a timer
// that raises a flag, so the per-record check is one atomic load rather
// than a clock read that only time-based points would pay.
//
// The flag carries the generation of the timer that may raise it (state =
// generation<<1 | due): a timer that fires just as reset re-arms it belongs
// to the old generation and cannot mark the new interval due.
type trigger struct {
	records int64
	every   time.Duration
	count   int64
	state   atomic.Uint64
	timer   *time.Timer
}

func newTrigger(records int64, every time.Duration) *trigger {
	t := &trigger{records: records, every: every}
	t.reset()
	return t
}

// record counts one processed record and reports whether a commit is due.
func (t *trigger) record() bool {
	t.count++
	return t.records > 0 && t.count >= t.records || t.elapsed()
}

// idle reports whether time alone made a commit due while no record came.
func (t *trigger) idle() bool { return t.count > 0 && t.elapsed() }

// elapsed reports whether the time limit has passed since the last commit.
func (t *trigger) elapsed() bool { return t.state.Load()&1 == 1 }

// fire marks the interval of generation gen due, unless reset has moved on.
func (t *trigger) fire(gen uint64) { t.state.CompareAndSwap(gen<<1, gen<<1|1) }

// reset starts a new interval: no record counted, the time limit re-armed.
func (t *trigger) reset() {
	t.count = 0
	if t.every <= 0 {
		return
	}
	gen := t.state.Load()>>1 + 1
	t.state.Store(gen << 1)
	// A timer per interval: stopping the old one is best effort (it may be
	// firing now), which the generation makes harmless.
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = time.AfterFunc(t.every, func() { t.fire(gen) })
}
