package ledger

import (
	"path/filepath"
	"testing"
)

func applyRange(t *testing.T, l *Ledger, p int32, from, to int64) {
	t.Helper()
	for o := from; o < to; o++ {
		if err := l.Apply(p, o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlantedDuplicateAndLoss(t *testing.T) {
	end := map[int32]int64{0: 100, 1: 50}
	l := New(end)
	applyRange(t, l, 0, 0, 100)
	applyRange(t, l, 1, 0, 50)
	// Plant: offset 7 of partition 0 applied twice more, offset 30 of
	// partition 1 never applied (so it is removed by not applying it
	// in a second ledger).
	applyRange(t, l, 0, 7, 8)
	applyRange(t, l, 0, 7, 8)
	got := l.Tally()
	want := Tally{Records: 150, Applied: 152, Duplicates: 2, Lost: 0}
	if got != want {
		t.Fatalf("tally %+v, want %+v", got, want)
	}

	l2 := New(end)
	applyRange(t, l2, 0, 0, 100)
	applyRange(t, l2, 1, 0, 30)
	applyRange(t, l2, 1, 31, 50)
	applyRange(t, l2, 1, 45, 46)
	got = l2.Tally()
	want = Tally{Records: 150, Applied: 150, Duplicates: 1, Lost: 1}
	if got != want {
		t.Fatalf("tally %+v, want %+v", got, want)
	}
	if n := l2.LostIn(1, 0, 50); n != 1 {
		t.Errorf("LostIn(1, 0, 50) = %d, want 1", n)
	}
	if n := l2.LostIn(1, 31, 50); n != 0 {
		t.Errorf("LostIn(1, 31, 50) = %d, want 0", n)
	}
}

func TestOutOfRangeEffectIsAnError(t *testing.T) {
	l := New(map[int32]int64{0: 10})
	if err := l.Apply(0, 10); err == nil {
		t.Error("offset past the end was accepted")
	}
	if err := l.Apply(3, 0); err == nil {
		t.Error("unknown partition was accepted")
	}
}

// Effects written through one mapping are seen through another, as the
// worker's are by the harness.
func TestSharedFile(t *testing.T) {
	end := map[int32]int64{0: 10, 2: 5}
	path := filepath.Join(t.TempDir(), "ledger")
	parent, err := Create(path, end)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	child, err := Open(path, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	applyRange(t, child, 0, 0, 10)
	applyRange(t, child, 2, 0, 4)
	applyRange(t, child, 2, 0, 1)
	if err := child.Close(); err != nil {
		t.Fatal(err)
	}
	got := parent.Tally()
	want := Tally{Records: 15, Applied: 15, Duplicates: 1, Lost: 1}
	if got != want {
		t.Fatalf("tally through the parent's mapping %+v, want %+v", got, want)
	}
	if _, err := Open(path, map[int32]int64{0: 11}, 0); err == nil {
		t.Error("a ledger of another size opened")
	}
}

// Each process publishes its count and its last commit in a slot of its
// own; a later process on the same slot goes on from where the last left.
func TestSlots(t *testing.T) {
	end := map[int32]int64{0: 100}
	path := filepath.Join(t.TempDir(), "ledger")
	parent, err := Create(path, end)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	first, err := Open(path, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	applyRange(t, first, 0, 0, 30)
	first.Committed(20, 1234)
	first.Close()
	second, err := Open(path, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(path, end, 5)
	if err != nil {
		t.Fatal(err)
	}
	applyRange(t, second, 0, 20, 30) // a replay of 10
	second.Committed(4, 5678)
	applyRange(t, other, 0, 30, 37)
	if got := parent.Applied(); got != 47 {
		t.Errorf("applied %d across slots, want 30 + 10 + 7", got)
	}
	if s := parent.Slot(0); s != (SlotState{Applied: 40, CommittedThrough: 34, CommittedAtNs: 5678, IssuedThrough: 30, LastFlight: 6}) {
		t.Errorf("slot 0 %+v: want 40 applied, the last commit through 30 + 4", s)
	}
	if _, err := Open(path, end, Slots); err == nil {
		t.Error("a slot out of range opened")
	}
}
