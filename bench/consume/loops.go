package consume

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// autocommitOpts let kgo commit on its timer and report each commit to
// events; with marks, kgo commits only what the loop marked processed.
func autocommitOpts(marks bool) func(time.Duration, *wire.Writer) []kgo.Opt {
	return func(every time.Duration, events *wire.Writer) []kgo.Opt {
		report := kgo.AutoCommitCallback(func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			f := wire.Frame{Kind: wire.AutoCommit, A: time.Now().UnixNano()}
			if err := CommitErr(resp, err); err != nil {
				f.Kind, f.B = wire.Failed, errCode(err)
			}
			_ = events.Event(f, false)
		})
		opts := []kgo.Opt{kgo.AutoCommitInterval(every), report}
		if marks {
			opts = append(opts, kgo.AutoCommitMarks())
		}
		return opts
	}
}

// consumer is the poll → process loop the strategies share; each strategy
// fills in the hooks that make it what it is.
type consumer struct {
	// due fires commit: after a record when its count or time is up, and
	// after a poll when time alone is. Nil: the loop never commits.
	due    *trigger
	commit func() error
	// polled runs on a poll's records before they are processed.
	polled func([]*kgo.Record) error
	// each runs after a record is processed.
	each func(*kgo.Record) error
	// done runs after a poll's records are processed.
	done func([]*kgo.Record) error
}

func (c consumer) run(ctx context.Context, e *Env) error {
	for !e.Done() {
		rs, err := e.poll(ctx, e.MaxPoll)
		if err != nil || len(rs) == 0 && ctx.Err() != nil {
			return err
		}
		if err := c.process(e, rs); err != nil {
			return err
		}
	}
	return nil
}

// process handles one poll's records. A group member holds its lock
// meanwhile, so the group's callbacks see its positions between polls.
func (c consumer) process(e *Env, rs []*kgo.Record) error {
	if e.Member {
		e.memberMu.Lock()
		defer func() {
			e.memberMu.Unlock()
			e.Client.AllowRebalance() // a no-op without BlockRebalanceOnPoll
		}()
	}
	if e.Member && e.DB != nil {
		// A database member writes only records of partitions it owns, in
		// order from where it resumed them.
		rs = slices.DeleteFunc(rs, func(r *kgo.Record) bool { return !e.accept(r) })
	}
	if c.polled != nil {
		if err := c.polled(rs); err != nil {
			return err
		}
	}
	seeks := e.seeks
	for _, r := range rs {
		// A database member's commit fenced inside the poll rewound its
		// partitions: the rest of the poll, accepted before, is refetched
		// from the stored offsets. Written anyway, it duplicated what the
		// zombie had stored and then skipped the refetch up to where it
		// had got: 214 duplicated and 287 lost of 600,000 (zombie.yaml,
		// outbox, local Kafka).
		if e.seeks != seeks && !e.accept(r) {
			continue
		}
		if err := e.apply(r); err != nil {
			return err
		}
		e.reach(strategy.KillProcessed)
		if c.each != nil {
			if err := c.each(r); err != nil {
				return err
			}
		}
		if c.due != nil && c.due.record() {
			if err := c.commit(); err != nil && !errors.Is(err, errRejected) {
				return err
			}
		}
	}
	if c.due != nil && c.due.idle() {
		if err := c.commit(); err != nil && !errors.Is(err, errRejected) {
			return err
		}
	}
	if c.done != nil {
		if err := c.done(rs); err != nil {
			return err
		}
	}
	if err := e.progress(false); err != nil {
		return err
	}
	return nil
}

// runNone never commits: the ceiling.
func runNone(ctx context.Context, e *Env) error { return consumer{}.run(ctx, e) }

// runSync processes, then commits and waits for the broker.
func runSync(ctx context.Context, e *Env) error {
	t := newTrigger(e.Records, e.Every)
	return consumer{due: t, commit: func() error {
		e.pause()
		t.reset()
		return e.commitSync(ctx, e.positions())
	}}.run(ctx, e)
}

// runAsync processes, then commits without waiting. While a commit is in
// flight, due commits are coalesced into the next one, so commits never
// queue behind each other.
func runAsync(ctx context.Context, e *Env) error {
	t := newTrigger(e.Records, e.Every)
	var inflight atomic.Bool
	var failed atomic.Pointer[error]
	return consumer{due: t, commit: func() error {
		if errp := failed.Load(); errp != nil {
			return *errp
		}
		if inflight.Load() {
			return nil // still due; retried on the next record
		}
		e.pause()
		// What the ledger needs to bound this strategy's replay: how long
		// the commit waited for the one before it, in records.
		held := max(0, t.count-e.Records)
		if e.Records <= 0 {
			held = 0
		}
		t.reset()
		inflight.Store(true)
		start, covered := time.Now(), e.processed
		e.Ledger.Issued(covered, held)
		e.Client.CommitOffsets(ctx, e.positions(), func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			// Cleared first: what the loop processes until the ledger
			// hears of the commit then counts in the flight it publishes.
			inflight.Store(false)
			if err := e.reportCommit(start, covered, CommitErr(resp, err)); err != nil && ctx.Err() == nil && !errors.Is(err, errRejected) {
				failed.Store(&err)
			}
		})
		return nil
	}}.run(ctx, e)
}

// runAutocommit leaves commits to kgo's timer. kgo commits what earlier
// polls returned — processed by the time of the next poll; the marks
// variant commits only what was marked processed.
func runAutocommit(marks bool) func(context.Context, *Env) error {
	return func(ctx context.Context, e *Env) error {
		var c consumer
		if marks {
			c.done = func(rs []*kgo.Record) error {
				e.Client.MarkCommitRecords(rs...)
				return nil
			}
		}
		return c.run(ctx, e)
	}
}

// commitAhead (at-most-once) gathers the next window of up to Records
// records, commits past them, and only then processes them: a crash loses
// the unprocessed rest of the window and never replays.
func commitAhead(ctx context.Context, e *Env) error {
	window := make([]*kgo.Record, 0, e.Records)
	for !e.Done() {
		window = window[:0]
		// Polls are no larger than other strategies' (max_poll_records);
		// a window gathers several when N is larger.
		rs, err := e.poll(ctx, min(e.MaxPoll, int(e.Records)))
		if err != nil || len(rs) == 0 && ctx.Err() != nil {
			return err
		}
		window = append(window, rs...)
		// Top up the window from what is already buffered or arrives
		// within a short grace, so a window is not cut at a poll's end.
		for int64(len(window)) < e.Records && len(rs) > 0 {
			gctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			rs, err = e.poll(gctx, min(e.MaxPoll, int(e.Records)-len(window)))
			cancel()
			if err != nil {
				return err
			}
			window = append(window, rs...)
		}
		if err := commitAheadWindow(ctx, e, window); err != nil {
			return err
		}
	}
	return nil
}

// commitAheadWindow commits past a window, then processes it. A group
// member does so under its lock, leaves out records of partitions taken
// from it since they were polled, and drops a window whose commit the
// group rejected: the partitions' next owner processes it from the
// committed offset.
func commitAheadWindow(ctx context.Context, e *Env, window []*kgo.Record) error {
	if e.Member {
		e.memberMu.Lock()
		defer func() {
			e.memberMu.Unlock()
			e.Client.AllowRebalance()
		}()
		window = slices.DeleteFunc(window, func(r *kgo.Record) bool { return !e.owns(r.Partition) })
	}
	if len(window) == 0 {
		return nil
	}
	e.pause()
	ahead := e.positions()
	for _, r := range window {
		if cur, ok := ahead[e.Topic][r.Partition]; !ok || r.Offset+1 > cur.Offset {
			ahead[e.Topic][r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		}
	}
	if err := e.commitSync(ctx, ahead); err != nil {
		if errors.Is(err, errRejected) {
			return nil
		}
		return err
	}
	for _, r := range window {
		if err := e.apply(r); err != nil {
			return err
		}
		e.reach(strategy.KillProcessed)
	}
	return e.progress(false)
}
