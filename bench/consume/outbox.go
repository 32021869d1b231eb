package consume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// relayBatch is the most outbox rows the relay publishes at a time. With
// SQLite, marking rows sent waits for the consumer's open transaction, so
// one relay round must be able to take more than one batch's rows.
const relayBatch = 10000

// runOutbox is exactly-once-db with an outbox: each batch's transaction
// also writes one outbox row per result, and a relay running beside the
// consumer publishes committed rows to the output topic and marks them
// sent. A kill between publishing and marking makes the next relay publish
// them again: the duplicates a downstream consumer removes by outbox id.
func runOutbox(ctx context.Context, e *Env) error {
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	relayErr := make(chan error, 1)
	draining := make(chan struct{})
	go func() { relayErr <- relay(rctx, e, wake, draining) }()

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

// relay publishes unsent outbox rows whenever woken, until draining is
// closed and the outbox is empty. Each published batch reports the age of
// its oldest row as a RelayLag event.
func relay(ctx context.Context, e *Env, wake <-chan struct{}, draining <-chan struct{}) error {
	done := false
	for {
		rows, err := e.DB.Unsent(ctx, e.Tables, relayBatch)
		if err != nil {
			return ctxOr(ctx, err)
		}
		if len(rows) == 0 {
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
			continue
		}
		recs := make([]*kgo.Record, len(rows))
		ids := make([]int64, len(rows))
		for i, r := range rows {
			recs[i] = &kgo.Record{Topic: e.Output, Partition: r.Partition, Key: EncodeSource(r.Partition, r.Offset)}
			ids[i] = r.ID
		}
		if err := e.Producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return ctxOr(ctx, fmt.Errorf("relay publishing: %w", err))
		}
		e.reach(strategy.KillOutboxPublished)
		// Marking in small chunks lets the consumer's transactions in
		// between (SQLite has one writer).
		for len(ids) > 0 {
			n := min(len(ids), 500)
			if err := e.DB.MarkSent(ctx, e.Tables, ids[:n]); err != nil {
				return ctxOr(ctx, err)
			}
			ids = ids[n:]
		}
		now := time.Now()
		if err := e.Events.Event(wire.Frame{Kind: wire.RelayLag, A: now.UnixNano(), B: now.UnixNano() - rows[0].CreatedNs}, false); err != nil {
			return err
		}
	}
}

// ctxOr hides an error that only reports the context's end.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil
	}
	return err
}
