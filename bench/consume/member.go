package consume

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/wire"
)

// errRejected marks a commit the group refused because the member's
// generation moved on (a rebalance, an expelled member): a group member
// goes on consuming, and at-most-once drops the window it could not
// commit ahead of.
var errRejected = errors.New("commit rejected by the group")

// rejected reports whether err is the group refusing a member's commit.
func rejected(err error) (int16, bool) {
	for _, e := range []*kerr.Error{kerr.RebalanceInProgress, kerr.IllegalGeneration, kerr.UnknownMemberID,
		kerr.FencedInstanceID, kerr.StaleMemberEpoch, kerr.FencedMemberEpoch} {
		if errors.Is(err, e) {
			return e.Code, true
		}
	}
	return 0, false
}

// errCode is err's Kafka error code, 0 if it is none.
func errCode(err error) int64 {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return int64(ke.Code)
	}
	return 0
}

// MemberOpts are the callbacks that make the loop one member of a group of
// several: a member tracks the partitions it owns (and commits only
// those), tells the harness of every assignment and revocation, and, with
// commitOnRevoke, commits what it processed of the partitions it gives up.
// Call Init before the client that takes these options starts.
func (e *Env) MemberOpts(commitOnRevoke bool) []kgo.Opt {
	e.Member = true
	give := func(kind wire.Kind, commit bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			e.memberMu.Lock()
			defer e.memberMu.Unlock()
			ps := m[e.Topic]
			if commit && !e.closing.Load() {
				offsets := e.ownedPositions(ps)
				if len(offsets[e.Topic]) > 0 {
					_ = e.commitSync(ctx, offsets) // rejected or failed: reported; the partitions go anyway
				}
			}
			now := time.Now().UnixNano()
			for _, p := range ps {
				if e.owns(p) {
					if n := e.parts[p].next; n >= 0 {
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
			now := time.Now().UnixNano()
			ps := m[e.Topic]
			for _, p := range ps {
				if int(p) < len(e.owned) && e.parts[p].known {
					// kgo resumes from the group's committed offset: the
					// position is unknown until its first record.
					e.owned[p], e.parts[p].next, e.parts[p].epoch = true, -1, -1
				}
				_ = e.Events.Event(wire.Frame{Kind: wire.Assigned, Partition: p, A: now, B: e.Ledger.Count()}, false)
			}
			if len(ps) == 0 {
				_ = e.Events.Event(wire.Frame{Kind: wire.Assigned, Partition: -1, A: now, B: e.Ledger.Count()}, false)
			}
			_ = e.Events.Flush()
		}),
		// Where kgo resumes each partition it was given: the harness needs
		// it for a partition with nothing left to process.
		kgo.AdjustFetchOffsetsFn(func(_ context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			for p, o := range m[e.Topic] {
				_ = e.Events.Event(wire.Frame{Kind: wire.Start, Partition: p, A: max(o.EpochOffset().Offset, 0)}, false)
			}
			_ = e.Events.Flush()
			return m, nil
		}),
		kgo.OnPartitionsRevoked(give(wire.Revoked, commitOnRevoke)),
		kgo.OnPartitionsLost(give(wire.Lost, false)),
	}
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

// Leave ends a member's run as a clean shutdown does: with commit on
// revoke, a last commit of what it owns and processed, before the client
// closes (the close's own revocation then commits nothing more).
func (e *Env) Leave(ctx context.Context, commitOnRevoke bool) error {
	e.memberMu.Lock()
	defer e.memberMu.Unlock()
	e.closing.Store(true)
	if !commitOnRevoke {
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
			_ = e.Events.Event(wire.Frame{Kind: wire.PartProgress, Partition: int32(p), A: now.UnixNano(), B: e.parts[p].next}, false)
		}
	}
}
