package consume

import (
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/wire"
)

type countOnly struct{}

func (countOnly) Apply(int32, int64) error { return nil }
func (countOnly) Committed(int64, int64)   {}
func (countOnly) Issued(int64, int64)      {}
func (countOnly) Count() int64             { return 0 }

// A member rewound a partition (an aborted transaction) and lost it before
// the record at the rewind came; given it again, kgo resumes from the
// committed offset, and the member processes what comes from there. Left
// seeking the old rewind, it skipped every record of the partition while
// a transactional member's End committed their offsets: lost.
func TestAssignmentEndsAnEarlierSeek(t *testing.T) {
	e := &Env{End: map[int32]int64{0: 100, 1: 100}, Events: wire.NewWriter(io.Discard), Ledger: countOnly{}}
	e.Member, e.scope = true, newRelayScope()
	e.Init()
	e.assigned([]int32{0, 1})
	// The rewind: to offset 40, records skipped until it comes.
	e.parts[0].next, e.parts[0].seeking = 40, true
	if e.accept(&kgo.Record{Partition: 0, Offset: 45}) {
		t.Fatal("a record past the rewind's offset was taken before the one at it")
	}
	// Lost, then given again: kgo resumes at the committed offset, 50.
	e.owned[0] = false
	e.assigned([]int32{0})
	for _, o := range []int64{50, 51} {
		if !e.accept(&kgo.Record{Partition: 0, Offset: o}) {
			t.Fatalf("record %d of the partition given again was skipped", o)
		}
		e.parts[0].next = o + 1
	}
}
