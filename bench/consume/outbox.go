package consume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// relayBatch is the most outbox rows the relay claims at a time: more
// than one batch's (a round waits on SQLite for the consumer's open
// transaction, so it must catch up), few enough that the write lock a
// round holds on SQLite through its publish stays short.
const relayBatch = 2000

// runOutbox is exactly-once-db with an outbox: each batch's transaction
// also writes one outbox row per result, and a relay running beside the
// consumer publishes committed rows to the output topic and marks them
// sent. A kill between publishing and marking makes the next relay publish
// them again: the duplicates a downstream consumer removes by outbox id.
func runOutbox(ctx context.Context, e *Env) error {
	if e.Member {
		return runOutboxMember(ctx, e)
	}
	wake := make(chan struct{}, 1)
	signal := func() { poke(wake) }
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	relayErr := make(chan error, 1)
	draining := make(chan struct{})
	go func() { relayErr <- relay(rctx, e, nil, wake, draining) }()

	if err := dbLoop(ctx, e, withOutbox, signal); err != nil {
		return err
	}
	// The topic is consumed: let the relay publish what is left, then
	// mark every output partition complete.
	close(draining)
	signal()
	if err := <-relayErr; err != nil {
		return err
	}
	for p := range e.End {
		if err := e.Producer.ProduceSync(ctx, &kgo.Record{Topic: e.Output, Partition: p, Key: EndMarker}).FirstErr(); err != nil {
			return fmt.Errorf("writing the end marker: %w", err)
		}
	}
	return nil
}

// runOutboxMember is the outbox as one member of a group: its relay
// publishes the rows of the partitions it owns (the scope), so members'
// relays never publish the same rows but where a zombie's does, and it
// outlives the SIGTERM that ends the loop: the clean leave commits the
// open transaction, then drains the relay (Leave). No end markers: the
// harness writes them once every member left.
func runOutboxMember(ctx context.Context, e *Env) error {
	sc := e.scope
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	relayErr := make(chan error, 1)
	draining := make(chan struct{})
	go func() { relayErr <- relay(rctx, e, sc, sc.wake, draining) }()
	e.drain = func(ctx context.Context) error {
		sc.freeze()
		defer stop()
		close(draining)
		poke(sc.wake)
		select {
		case err := <-relayErr:
			return err
		case <-ctx.Done():
			return fmt.Errorf("draining the outbox relay: %w", ctx.Err())
		}
	}
	if err := dbLoop(ctx, e, withOutbox, func() { poke(sc.wake) }); err != nil {
		stop()
		return err
	}
	return nil
}

// poke wakes whoever waits on wake, without blocking.
func poke(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// relayScope is the partitions a group member's relay publishes the rows
// of: those the member owns, so members' relays share the work. It is no
// fence: a hand-over needs none (a round's claim hides its rows from every
// other round, sink.DB.Claim), and a revoke never waits for the relay —
// a member that did, behind a slow round, missed its rebalance timeout.
type relayScope struct {
	mu    sync.Mutex
	owned map[int32]bool
	// frozen (the member is leaving and its relay draining) keeps the
	// scope as it was when the drain began.
	frozen bool
	wake   chan struct{} // a commit or an assignment: rows may wait
}

func newRelayScope() *relayScope {
	return &relayScope{owned: map[int32]bool{}, wake: make(chan struct{}, 1)}
}

// join adds partitions to the scope and wakes the relay: a predecessor
// may have left rows of them unpublished.
func (s *relayScope) join(ps []int32) {
	s.mu.Lock()
	for _, p := range ps {
		s.owned[p] = true
	}
	s.mu.Unlock()
	poke(s.wake)
}

// leave takes partitions out of the scope; a round in flight finishes
// what it claimed. A frozen scope keeps them.
func (s *relayScope) leave(ps []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen {
		return
	}
	for _, p := range ps {
		delete(s.owned, p)
	}
}

// freeze keeps the scope as it is from now on: a leaving member's relay
// drains the rows of the partitions it had when the drain began, even if
// the group takes them meanwhile — a member whose session ran out while
// it drained (a network stall) left 22,500 rows unsent when the last
// member's scope emptied. The claims keep a successor's relay and this
// one from publishing the same rows; the scope only shares the work.
func (s *relayScope) freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
}

// parts lists the scope, sorted.
func (s *relayScope) parts() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int32, 0, len(s.owned))
	for p := range s.owned {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// relay publishes unsent outbox rows — of the partitions in scope, or all
// when scope is nil — whenever woken, until draining is closed and there
// are none left. Each published batch reports the age of its oldest row
// as a RelayLag event.
func relay(ctx context.Context, e *Env, scope *relayScope, wake <-chan struct{}, draining <-chan struct{}) error {
	done := false
	for {
		n, err := relayRound(ctx, e, scope)
		if err != nil {
			return ctxOr(ctx, err)
		}
		if n > 0 {
			continue
		}
		if done {
			return nil
		}
		select {
		case <-wake:
		case <-draining:
			done = true
		case <-ctx.Done():
			return nil
		}
	}
}

// relayRound publishes one batch of unsent rows it claimed and commits the
// claim (marking them sent), returning how many there were.
func relayRound(ctx context.Context, e *Env, scope *relayScope) (int, error) {
	var parts []int32
	if scope != nil {
		parts = scope.parts()
	}
	claim, rows, err := e.DB.Claim(ctx, e.Tables, relayBatch, parts)
	if err != nil || len(rows) == 0 {
		claim.Rollback()
		return 0, err
	}
	defer claim.Rollback()
	recs := make([]*kgo.Record, len(rows))
	for i, r := range rows {
		recs[i] = &kgo.Record{Topic: e.Output, Partition: r.Partition, Key: EncodeSource(r.Partition, r.Offset)}
	}
	if err := e.Producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return 0, fmt.Errorf("relay publishing: %w", err)
	}
	e.reach(strategy.KillOutboxPublished)
	if err := claim.Commit(ctx); err != nil {
		return 0, err
	}
	now := time.Now()
	if err := e.Events.Event(wire.Frame{Kind: wire.RelayLag, A: now.UnixNano(), B: now.UnixNano() - rows[0].CreatedNs}, false); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// ctxOr hides an error that only reports the context's end.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil
	}
	return err
}
