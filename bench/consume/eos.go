package consume

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// offsetMode is where a database strategy keeps its offsets.
type offsetMode int

const (
	// dbOffsets: in the same transaction as the results (exactly-once-db).
	dbOffsets offsetMode = iota
	// dbThenKafka: results upserted and committed, then offsets committed
	// to the group (idempotent).
	dbThenKafka
	// kafkaOnPoll: offsets committed to the group as soon as records are
	// polled, outside the database transaction (the broken variant).
	kafkaOnPoll
	// withOutbox: as dbOffsets, and every result writes an outbox row.
	withOutbox
	// dbSplit: the offsets in a second transaction after the results'
	// (the broken variant a kill between the two exposes).
	dbSplit
	// dbOffsetsOpen: as dbOffsets, but the offset write is unconditional
	// (the broken variant a zombie's commit exposes).
	dbOffsetsOpen
)

// runDB writes each batch's results inside one database transaction that
// stays open while the batch is processed, so a kill usually lands inside
// it. The batch ends every Records records or Every of time.
func runDB(mode offsetMode) func(context.Context, *Env) error {
	return func(ctx context.Context, e *Env) error {
		return dbLoop(ctx, e, mode, func() {})
	}
}

// dbLoop is runDB's loop; committed runs after every database commit.
func dbLoop(ctx context.Context, e *Env, mode offsetMode, committed func()) error {
	t := newTrigger(e.Records, e.Every)
	// A member's database work outlives the SIGTERM that ends its loop:
	// its clean leave commits the open transaction.
	dctx := ctx
	if e.Member {
		dctx = context.WithoutCancel(ctx)
	}
	var tx *sink.Tx
	// commitTx commits the open transaction, and with kafka the idempotent
	// sink's group commit after it. A member whose offset write is fenced
	// rewinds what it owns, but the partitions leaving, to what is stored.
	commitTx := func(kafka bool, leaving []int32) error {
		if tx == nil {
			return nil
		}
		start, covered := time.Now(), e.processed
		var next map[int32]int64
		if mode == dbOffsets || mode == withOutbox || mode == dbOffsetsOpen {
			// Conditional on the offsets this process last stored: a
			// zombie whose partitions moved on writes nothing.
			next = e.nextOffsets()
			var expected map[int32]int64
			if mode != dbOffsetsOpen {
				expected = e.expectedOffsets(next)
			}
			if err := tx.SaveOffsets(dctx, next, expected); err != nil {
				tx.Rollback()
				tx = nil
				if errors.Is(err, sink.ErrFenced) && e.Member && !e.closing.Load() {
					if rerr := e.rewindOwned(dctx, leaving); rerr != nil {
						return rerr
					}
				}
				return e.reportCommit(start, covered, err)
			}
		}
		// One latency covers the whole commit: for the idempotent sink,
		// the database's and then the group's.
		err := tx.Commit(dctx)
		tx = nil
		if err == nil {
			e.storedAt(next)
			e.reach(strategy.KillDBCommitted)
			committed()
		}
		if err == nil && mode == dbSplit {
			err = e.saveOffsetsAlone(dctx)
		}
		if err == nil && mode == dbThenKafka && kafka {
			err = e.commitKafka(ctx, e.positions())
		}
		return e.reportCommit(start, covered, err)
	}
	c := consumer{due: t}
	c.commit = func() error {
		t.reset()
		if tx == nil {
			return nil
		}
		e.pause()
		return commitTx(true, nil)
	}
	if e.Member {
		// Called under the member's lock, between polls; set under it,
		// for the group's callbacks run from the moment the client
		// started, before this loop did.
		resolve := func(commit bool, leaving []int32) error {
			t.reset()
			if commit {
				return commitTx(false, leaving)
			}
			if tx != nil {
				tx.Rollback()
				tx = nil
			}
			return nil
		}
		e.memberMu.Lock()
		e.resolve = resolve
		e.memberMu.Unlock()
	}
	if mode == kafkaOnPoll {
		c.polled = func(rs []*kgo.Record) error {
			if len(rs) == 0 {
				return nil
			}
			return e.commitSync(ctx, ahead(e, rs))
		}
	}
	c.each = func(r *kgo.Record) error {
		if tx == nil {
			var err error
			if tx, err = e.DB.Begin(dctx, e.Tables, mode == dbThenKafka); err != nil {
				return err
			}
			if mode == withOutbox {
				tx.WithOutbox()
			}
		}
		return tx.Add(dctx, r.Partition, r.Offset, r.Offset*2)
	}
	if err := c.run(ctx, e); err != nil {
		if e.Member {
			e.memberMu.Lock()
			defer e.memberMu.Unlock()
		}
		if tx != nil {
			tx.Rollback()
			tx = nil
		}
		return err
	}
	if e.Member {
		return nil // the clean leave ends the open transaction
	}
	return c.commit()
}

// saveOffsetsAlone writes the next offsets in a transaction of their own,
// unconditionally (the broken variant).
func (e *Env) saveOffsetsAlone(ctx context.Context) error {
	tx, err := e.DB.Begin(ctx, e.Tables, false)
	if err != nil {
		return err
	}
	if err := tx.SaveOffsets(ctx, e.nextOffsets(), nil); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit(ctx)
}

// rewindToCommitted resets the positions to the group's committed offsets
// (where none, to the start).
func (e *Env) rewindToCommitted(ctx context.Context) error {
	committed, err := CommittedOffsets(ctx, e.Client, e.Group, e.Topic, e.End)
	if err != nil {
		return fmt.Errorf("after an aborted transaction: %w", err)
	}
	to := make(map[int32]int64, len(e.End))
	for p := range e.End {
		to[p] = e.Start[p]
		if o, ok := committed[p]; ok {
			to[p] = o
		}
	}
	e.rewind(to)
	return nil
}

// CommittedOffsets reads the group's committed offset of each partition
// of end, stable: offsets of a transaction still being completed are not
// where a consumer resumes. A partition with none, as every one of a group
// that does not exist yet, is absent.
func CommittedOffsets(ctx context.Context, cl *kgo.Client, group, topic string, end map[int32]int64) (map[int32]int64, error) {
	resp, err := kadm.NewClient(cl).FetchOffsets(kadm.RequireStable(ctx), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("reading committed offsets of group %s: %w", group, err)
	}
	out := make(map[int32]int64, len(end))
	for p := range end {
		if o, ok := resp.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
			out[p] = o.At
		}
	}
	return out, nil
}

// ahead returns the positions past every record in rs.
func ahead(e *Env, rs []*kgo.Record) map[string]map[int32]kgo.EpochOffset {
	m := e.positions()
	for _, r := range rs {
		if cur, ok := m[e.Topic][r.Partition]; !ok || r.Offset+1 > cur.Offset {
			m[e.Topic][r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		}
	}
	return m
}

// EncodeSource is the output record's key: the source partition and
// offset, which the harness counts on the read-committed side.
func EncodeSource(p int32, o int64) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b, uint32(p))
	binary.BigEndian.PutUint64(b[4:], uint64(o))
	return b
}

// DecodeSource reverses EncodeSource.
func DecodeSource(b []byte) (int32, int64, error) {
	if len(b) != 12 {
		return 0, 0, fmt.Errorf("output record key of %d bytes, want 12", len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint64(b[4:])), nil
}

// EndMarker is the key of the record the transactional strategy writes to
// each output partition in its final transaction: a reader that sees it
// knows the partition is complete.
var EndMarker = []byte("commitbench-end")

// runTransactional consumes, produces each result to the output topic and
// commits the consumed offsets in the same Kafka transaction. A
// transaction ends only between polls — GroupTransactSession commits the
// offsets of everything polled — so polls are sized to end on the interval.
func runTransactional(ctx context.Context, e *Env) error {
	if e.Member {
		return runTransactionalMember(ctx, e)
	}
	s := e.Session
	t := newTrigger(e.Records, e.Every)
	open := false
	end := func() error { return e.endTransaction(ctx, t, &open) }
	for {
		for !e.Done() {
			max := e.MaxPoll
			if e.Records > 0 {
				max = int(min(int64(max), e.Records-t.count))
			}
			fs := s.PollRecords(ctx, max)
			if ctx.Err() != nil {
				return nil
			}
			if err := FetchErr(fs); err != nil {
				return err
			}
			for _, r := range fs.Records() {
				if !open {
					if err := s.Begin(); err != nil {
						return fmt.Errorf("beginning a transaction: %w", err)
					}
					open = true
				}
				if err := e.apply(r); err != nil {
					return err
				}
				e.reach(strategy.KillProcessed)
				out := &kgo.Record{Topic: e.Output, Partition: r.Partition, Key: EncodeSource(r.Partition, r.Offset), Value: r.Value}
				s.Produce(ctx, out, nil) // failures abort the transaction at End
				t.count++
			}
			if open && e.Done() {
				// The end markers join the last data transaction. A
				// transaction of markers alone commits no offsets, and kgo
				// then takes the broker for one older than KIP-447 and sleeps
				// 500 ms in End (franz-go v1.22.3, txn.go: kip447 is read off
				// the empty TxnOffsetCommit response's version 0).
				break
			}
			if e.Records > 0 && t.count >= e.Records || t.elapsed() {
				if err := end(); err != nil {
					return err
				}
			}
			if err := e.progress(false); err != nil {
				return err
			}
		}
		// The final transaction carries an end marker per output partition.
		if !open {
			if err := s.Begin(); err != nil {
				return fmt.Errorf("beginning the final transaction: %w", err)
			}
			open = true
		}
		for p := range e.End {
			s.Produce(ctx, &kgo.Record{Topic: e.Output, Partition: p, Key: EndMarker}, nil)
		}
		if err := end(); err != nil {
			return err
		}
		if e.Done() {
			return nil
		}
		// The final transaction aborted and rewound the positions: consume
		// what it held again, and end once more.
	}
}

// endTransaction ends the open transaction, if any, with a commit, and
// reports it. An aborted one (a rebalance, a timeout, a zombie's refused
// offsets) counts as TRANSACTION_ABORTED, and the positions go back to the
// committed offsets, as kgo's consumer does: a member seeks what it owns
// there itself, a lone worker resets its tracking, or the loop could end
// before the aborted records come again.
func (e *Env) endTransaction(ctx context.Context, t *trigger, open *bool) error {
	t.reset()
	if !*open {
		return nil
	}
	*open = false
	e.pause()
	e.reach(strategy.KillTxnProduced)
	start, covered := time.Now(), e.processed
	committed, err := e.Session.End(ctx, kgo.TryCommit)
	if err != nil {
		// franz-go: no error End returns is retryable; past the group's
		// refusals (which a member goes on from, as before), the session
		// is in no state to begin another (a member going on after a
		// network failure met "already in a transaction"): this process
		// is done.
		rerr := e.reportCommit(start, covered, err)
		if _, ok := rejected(err); ok {
			return rerr
		}
		return fmt.Errorf("ending the transaction: %w", err)
	}
	if e.Member {
		if err := e.txnEnded(committed); err != nil {
			return err
		}
	}
	if committed {
		return e.reportCommit(start, covered, nil)
	}
	rewind := e.rewindToCommitted
	if e.Member {
		rewind = e.rewindAborted
	}
	if err := rewind(ctx); err != nil {
		return err
	}
	return e.Events.Event(wire.Frame{Kind: wire.Failed, A: time.Now().UnixNano(), B: CodeTxnAborted}, false)
}

// idleTxn is how long a transactional member's poll may find nothing
// before it ends the open transaction.
const idleTxn = 250 * time.Millisecond

// runTransactionalMember is runTransactional as one member of a group: it
// processes the records of partitions it owns under its lock, ends each
// transaction outside it (the session's rebalance callbacks hold the lock
// End needs, then take the member's), and leaves the open transaction to
// the clean leave, which commits it. A rebalance during a transaction
// aborts it (franz-go's GroupTransactSession) and kgo rewinds the
// partitions; a zombie's transaction is refused by the group's generation
// (KIP-447). It writes no end markers: the harness does once every member
// left.
func runTransactionalMember(ctx context.Context, e *Env) error {
	s := e.Session
	t := newTrigger(e.Records, e.Every)
	open := false
	// The leave's commit outlives the SIGTERM that ends the loop.
	ectx := context.WithoutCancel(ctx)
	end := func() error { return e.endTransaction(ectx, t, &open) }
	e.endTxn = end
	for {
		max := e.MaxPoll
		if e.Records > 0 {
			max = int(min(int64(max), e.Records-t.count))
		}
		// A member never learns that the group is done, and the harness
		// waits for committed progress: a poll that finds nothing for a
		// while ends the open transaction, as an idle consumer flushes.
		pctx, cancel := context.WithTimeout(ctx, idleTxn)
		fs := s.PollRecords(pctx, max)
		cancel()
		if err := FetchErr(fs); err != nil && !memberGoesOn(err) {
			return err
		}
		// What a poll returned is processed, and produced on a context
		// the SIGTERM does not cancel, even as the SIGTERM ends the loop:
		// kgo counts it polled, and the leave's commit commits its
		// offsets.
		if err := e.produceOwned(ectx, t, &open, fs.Records()); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if e.Records > 0 && t.count >= e.Records || t.elapsed() || fs.Empty() {
			if err := end(); err != nil && !errors.Is(err, errRejected) {
				return err
			}
		}
	}
}

// produceOwned processes and produces, inside the open transaction (begun
// if need be), the records of rs whose partitions the member owns, in
// order from where it rewound them. A record of a partition revoked since
// the poll is left: the revoke aborts the transaction anyway.
func (e *Env) produceOwned(ctx context.Context, t *trigger, open *bool, rs []*kgo.Record) error {
	e.memberMu.Lock()
	defer func() {
		e.memberMu.Unlock()
		e.Client.AllowRebalance()
	}()
	for _, r := range rs {
		if !e.accept(r) {
			continue
		}
		if !*open {
			if err := e.Session.Begin(); err != nil {
				return fmt.Errorf("beginning a transaction: %w", err)
			}
			*open = true
		}
		if err := e.apply(r); err != nil {
			return err
		}
		e.reach(strategy.KillProcessed)
		e.Session.Produce(ctx, &kgo.Record{Topic: e.Output, Partition: r.Partition, Key: EncodeSource(r.Partition, r.Offset), Value: r.Value}, nil)
		t.count++
	}
	return e.progress(false)
}

// rewindAborted seeks every partition the member owns back to its
// committed offset, or to the start where none is, after its transaction
// aborted. kgo rewinds only partitions it has a committed offset for: a
// partition whose first transaction aborted would go on past the aborted
// records, and lose them.
func (e *Env) rewindAborted(ctx context.Context) error {
	committed, err := CommittedOffsets(ctx, e.Client, e.Group, e.Topic, e.End)
	if err != nil {
		return fmt.Errorf("after an aborted transaction: %w", err)
	}
	e.memberMu.Lock()
	defer e.memberMu.Unlock()
	e.seekOwned(committed, nil)
	return nil
}

// FetchErr is the first error a poll's fetches carry, but a context's end.
func FetchErr(fs kgo.Fetches) error {
	var ferr error
	fs.EachError(func(t string, p int32, err error) {
		if ferr == nil && ctxErr(err) == nil {
			ferr = fmt.Errorf("fetching %s[%d]: %w", t, p, err)
		}
	})
	return ferr
}
