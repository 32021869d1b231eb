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
	child, err := Open(path, end)
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
	if _, err := Open(path, map[int32]int64{0: 11}); err == nil {
		t.Error("a ledger of another size opened")
	}
}
