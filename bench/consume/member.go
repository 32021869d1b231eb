package consume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/sink"
	"github.com/commitbench/commitbench/bench/wire"
)

// errRejected marks a commit the group refused because the member's
// generation moved on (a rebalance, an expelled member), or that failed
// for a reason that passes (transient): a group member goes on consuming,
// and at-most-once drops the window it could not commit ahead of.
var errRejected = errors.New("commit rejected by the group")

// CodeStoredOffsetMoved is the failure code of a database member's commit
// that the stored-offset fence refused (sink.ErrFenced): another member
// moved the partition on. It is no Kafka error code (those are positive).
const CodeStoredOffsetMoved = -1000

// CodeTxnAborted is the failure code of a transactional member's
// transaction that ended aborted (a rebalance during it, a zombie's
// refused offsets).
const CodeTxnAborted = -1001

// CodeNetwork is the failure code of a commit that failed on the network
// (no connection to the coordinator, a connection reset or closed): what a
// partition between the client and the cluster surfaces.
const CodeNetwork = -1002

// FailureName names a failed commit's code, as results count them: Kafka's
// error name, STORED_OFFSET_MOVED, TRANSACTION_ABORTED, NETWORK or OTHER.
func FailureName(code int64) string {
	switch code {
	case CodeStoredOffsetMoved:
		return "STORED_OFFSET_MOVED"
	case CodeTxnAborted:
		return "TRANSACTION_ABORTED"
	case CodeNetwork:
		return "NETWORK"
	}
	if code != 0 {
		if e := kerr.TypedErrorForCode(int16(code)); e != nil {
			return e.Message
		}
	}
	return "OTHER"
}

// rejected reports whether err is the group refusing a member's commit, or
// the sink's fence refusing a database member's.
func rejected(err error) (int16, bool) {
	if errors.Is(err, sink.ErrFenced) {
		return CodeStoredOffsetMoved, true
	}
	for _, e := range []*kerr.Error{kerr.RebalanceInProgress, kerr.IllegalGeneration, kerr.UnknownMemberID,
		kerr.FencedInstanceID, kerr.StaleMemberEpoch, kerr.FencedMemberEpoch} {
		if errors.Is(err, e) {
			return e.Code, true
		}
	}
	return 0, false
}

// errCode is err's Kafka error code (or CodeStoredOffsetMoved), 0 if it is
// none.
func errCode(err error) int64 {
	if code, ok := rejected(err); ok {
		return int64(code)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return int64(ke.Code)
	}
	if network(err) {
		return CodeNetwork
	}
	return 0
}

// network reports whether err is the network failing under a request.
func network(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// transient reports whether a commit failed for a reason that passes — the
// network, or a retriable broker error the client's retries did not
// outlast (a coordinator moving, a broker restarting): a group member
// goes on, and its next commit covers what this one did.
func transient(err error) bool {
	return network(err) || kerr.IsRetriable(err)
}

// MemberOpts are the callbacks that make the loop one member of a group of
// several: a member tracks the partitions it owns (and commits only
// those), tells the harness of every assignment and revocation, and, with
// commitOnRevoke, commits what it processed of the partitions it gives up.
// A database member ends its open transaction at every change of
// ownership: committed at a revoke — the practice Kafka's
// ConsumerRebalanceListener documents for offsets kept outside Kafka, and
// fenced if the partitions already moved — rolled back at a loss; and it
// resumes each partition it is given from the offsets its sink stores.
// Call Init before the client that takes these options starts.
func (e *Env) MemberOpts(commitOnRevoke bool) []kgo.Opt {
	e.Member = true
	e.scope = newRelayScope()
	give := func(kind wire.Kind, commit bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			e.memberMu.Lock()
			defer e.memberMu.Unlock()
			ps := m[e.Topic]
			if e.resolve != nil {
				_ = e.resolve(kind == wire.Revoked, ps) // failed or fenced: reported; the partitions go anyway
			}
			if commit && !e.closing.Load() && !e.SinkOffsets {
				offsets := e.ownedPositions(ps)
				if len(offsets[e.Topic]) > 0 {
					_ = e.commitSync(ctx, offsets) // rejected or failed: reported; the partitions go anyway
				}
			}
			e.scope.leave(ps)
			now := time.Now().UnixNano()
			for _, p := range ps {
				if e.owns(p) {
					if n := e.progressOf(p); n >= 0 {
						_ = e.Events.Event(wire.Frame{Kind: wire.PartProgress, Partition: p, A: now, B: n}, false)
					}
					e.owned[p] = false
				}
				_ = e.Events.Event(wire.Frame{Kind: kind, Partition: p, A: now, B: e.Ledger.Count()}, false)
			}
			_ = e.Events.Flush()
		}
	}
	return []kgo.Opt{
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			e.memberMu.Lock()
			defer e.memberMu.Unlock()
			e.assigned(m[e.Topic])
		}),
		// Where kgo resumes each partition it was given: the harness needs
		// it for a partition with nothing left to process. A member that
		// keeps its offsets in the sink resumes from there instead.
		kgo.AdjustFetchOffsetsFn(func(ctx context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			var stored map[int32]int64
			if e.SinkOffsets {
				var err error
				if stored, err = e.DB.Offsets(ctx, e.Tables); err != nil {
					return nil, fmt.Errorf("reading the stored offsets of the partitions given: %w", err)
				}
			}
			e.memberMu.Lock()
			defer e.memberMu.Unlock()
			for p, o := range m[e.Topic] {
				at := max(o.EpochOffset().Offset, 0)
				if e.SinkOffsets {
					// No epoch: the stored offset carries none to check.
					at = stored[p]
					m[e.Topic][p] = kgo.NewOffset().At(at).WithEpoch(-1)
				}
				if e.DB != nil && e.owns(p) {
					ps := &e.parts[p]
					ps.next, ps.stored, ps.seeking = at, at, true
				}
				_ = e.Events.Event(wire.Frame{Kind: wire.Start, Partition: p, A: at}, false)
			}
			_ = e.Events.Flush()
			return m, nil
		}),
		kgo.OnPartitionsRevoked(give(wire.Revoked, commitOnRevoke)),
		kgo.OnPartitionsLost(give(wire.Lost, false)),
	}
}

// assigned takes partitions the group gave the member (under memberMu):
// it owns them from their committed offset on, tells the harness, and
// lets its outbox relay publish their rows.
func (e *Env) assigned(ps []int32) {
	now := time.Now().UnixNano()
	for _, p := range ps {
		if int(p) < len(e.owned) && e.parts[p].known {
			// kgo resumes from the group's committed offset: the
			// position is unknown until its first record. A seek of an
			// earlier ownership is over: left on, its record at -1 never
			// came, every record was skipped while a transactional
			// member's End committed their offsets (10,500 lost after a
			// partition on local Kafka).
			st := &e.parts[p]
			e.owned[p], st.next, st.epoch, st.done, st.seeking = true, -1, -1, -1, false
		}
		_ = e.Events.Event(wire.Frame{Kind: wire.Assigned, Partition: p, A: now, B: e.Ledger.Count()}, false)
	}
	if len(ps) == 0 {
		_ = e.Events.Event(wire.Frame{Kind: wire.Assigned, Partition: -1, A: now, B: e.Ledger.Count()}, false)
	}
	e.scope.join(ps)
	_ = e.Events.Flush()
}

func (e *Env) owns(p int32) bool { return p >= 0 && int(p) < len(e.owned) && e.owned[p] }

// ownedPositions are the offsets to commit for the partitions of ps (all
// owned ones when ps is nil) that this member processed since it was
// given them.
func (e *Env) ownedPositions(ps []int32) map[string]map[int32]kgo.EpochOffset {
	m := map[int32]kgo.EpochOffset{}
	add := func(p int32) {
		if e.owns(p) && e.parts[p].next >= 0 {
			m[p] = kgo.EpochOffset{Epoch: e.parts[p].epoch, Offset: e.parts[p].next}
		}
	}
	if ps == nil {
		for p := range e.owned {
			add(int32(p))
		}
	} else {
		for _, p := range ps {
			add(p)
		}
	}
	return map[string]map[int32]kgo.EpochOffset{e.Topic: m}
}

// Leave ends a member's run as a clean shutdown does: a database member
// commits its open transaction; with commit on revoke, a last commit of
// what it owns and processed goes to the group, before the client closes
// (the close's own revocation then commits nothing more); an outbox
// member's relay then publishes what is left of its partitions.
func (e *Env) Leave(ctx context.Context, commitOnRevoke bool) error {
	if e.endTxn != nil {
		e.closing.Store(true)
		return e.endTxn()
	}
	if err := e.leave(ctx, commitOnRevoke); err != nil {
		return err
	}
	if e.drain != nil {
		return e.drain(ctx)
	}
	return nil
}

func (e *Env) leave(ctx context.Context, commitOnRevoke bool) error {
	e.memberMu.Lock()
	defer e.memberMu.Unlock()
	e.closing.Store(true)
	if e.resolve != nil {
		if err := e.resolve(true, nil); err != nil && !errors.Is(err, errRejected) {
			return err
		}
	}
	if !commitOnRevoke || e.SinkOffsets {
		return nil
	}
	offsets := e.ownedPositions(nil)
	if len(offsets[e.Topic]) == 0 {
		return nil
	}
	if err := e.commitSync(ctx, offsets); err != nil && !errors.Is(err, errRejected) {
		return err
	}
	return nil
}

// memberProgress reports, between polls, how far the member got in each
// partition it processed since the last report (PartProgress frames).
func (e *Env) memberProgress(now time.Time) {
	for p, t := range e.touched {
		if t {
			e.touched[p] = false
			_ = e.Events.Event(wire.Frame{Kind: wire.PartProgress, Partition: int32(p), A: now.UnixNano(), B: e.progressOf(int32(p))}, false)
		}
	}
}

// accept reports whether a database member processes r: it owns r's
// partition, and r is the next record there. After a seek (an assignment,
// a rewind) records are skipped until the one at the sought offset comes,
// so none fetched before the seek is written twice or past a gap.
func (e *Env) accept(r *kgo.Record) bool {
	if !e.owns(r.Partition) { // owned implies known: see OnPartitionsAssigned
		return false
	}
	ps := &e.parts[r.Partition]
	if ps.seeking {
		if r.Offset != ps.next {
			return false
		}
		ps.seeking, ps.fresh = false, true
		return true
	}
	return r.Offset >= ps.next
}

// rewindOwned seeks every owned partition (but those leaving) back to the
// offset the sink stores, after a database member's transaction was
// rolled back (its write fenced): what it had processed there is
// processed again, from what another writer stored.
func (e *Env) rewindOwned(ctx context.Context, leaving []int32) error {
	stored, err := e.DB.Offsets(ctx, e.Tables)
	if err != nil {
		return fmt.Errorf("reading the stored offsets after a fenced write: %w", err)
	}
	e.seekOwned(stored, leaving)
	return nil
}

// seekOwned moves every partition the member owns, but those leaving, to
// its offset in at (0 where absent), as what the sink stores, and skips
// what was fetched before (accept). Call it under the member's lock.
func (e *Env) seekOwned(at map[int32]int64, leaving []int32) {
	e.seeks++
	set := map[int32]kgo.EpochOffset{}
	for p := range e.parts {
		if !e.owned[p] || slices.Contains(leaving, int32(p)) {
			continue
		}
		ps, o := &e.parts[p], at[int32(p)]
		ps.next, ps.stored, ps.seeking, ps.epoch = o, o, true, -1
		set[int32(p)] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	e.Client.SetOffsets(map[string]map[int32]kgo.EpochOffset{e.Topic: set})
}

// txnEnded records a transactional member's transaction end: committed,
// what it owns is done as far as it processed, reported at once (the
// harness ends the phase on it); aborted, kgo rewound the owned partitions
// to their committed offsets, unknown until their next record.
func (e *Env) txnEnded(committed bool) error {
	e.memberMu.Lock()
	defer e.memberMu.Unlock()
	now := time.Now().UnixNano()
	for p := range e.parts {
		ps := &e.parts[p]
		if !e.owned[p] || ps.next < 0 {
			continue
		}
		if !committed {
			ps.next, ps.epoch = -1, -1
			continue
		}
		if ps.next > ps.done {
			ps.done = ps.next
			e.touched[p] = false
			if err := e.Events.Event(wire.Frame{Kind: wire.PartProgress, Partition: int32(p), A: now, B: ps.done}, ps.done >= ps.end); err != nil {
				return err
			}
		}
	}
	return nil
}
