package consume

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/sink"
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

// A database member whose commit is fenced in the middle of a poll rewinds
// its partitions to what the sink stores: the rest of that poll must wait
// for the refetch. Written anyway, the zombie's records were duplicated
// and the refetch skipped up to where the poll had got, losing the records
// between the stored offset and there.
func TestFencedCommitMidPollWaitsForTheRefetch(t *testing.T) {
	ctx := context.Background()
	db, err := sink.Open(ctx, sink.SQLite, filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.ConsumeTopics("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	e := &Env{Topic: "t", End: map[int32]int64{0: 100}, Events: wire.NewWriter(io.Discard), Ledger: countOnly{}, DB: db, Client: cl}
	e.Member, e.scope = true, newRelayScope()
	e.Init()
	e.assigned([]int32{0})
	e.parts[0].next, e.parts[0].stored, e.parts[0].seeking = 10, 10, true
	poll := func(from, to int64) []*kgo.Record {
		var rs []*kgo.Record
		for o := from; o < to; o++ {
			rs = append(rs, &kgo.Record{Partition: 0, Offset: o})
		}
		return rs
	}
	var written []int64
	fenced := false
	c := consumer{each: func(r *kgo.Record) error {
		written = append(written, r.Offset)
		if r.Offset == 14 && !fenced {
			fenced = true
			// The commit due here is fenced: another writer stored 12.
			e.seekOwned(map[int32]int64{0: 12}, nil)
		}
		return nil
	}}
	if err := c.process(e, poll(10, 20)); err != nil {
		t.Fatal(err)
	}
	if err := c.process(e, poll(12, 20)); err != nil { // the refetch
		t.Fatal(err)
	}
	want := []int64{10, 11, 12, 13, 14, 12, 13, 14, 15, 16, 17, 18, 19}
	if !slices.Equal(written, want) {
		t.Errorf("records written %v, want %v (10-14 rolled back with the fenced transaction, then 12 on)", written, want)
	}
}
