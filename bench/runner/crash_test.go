package runner

import (
	"slices"
	"testing"
)

func TestKillPositionsAreStratified(t *testing.T) {
	const records, k = 100_000, 8
	a := killPositions(7, "w/at-least-once-sync/1000rec", 1, k, records)
	if !slices.Equal(a, killPositions(7, "w/at-least-once-sync/1000rec", 1, k, records)) {
		t.Fatal("the same seed, cell and repetition planned different kills")
	}
	if slices.Equal(a, killPositions(7, "w/at-least-once-sync/1000rec", 2, k, records)) {
		t.Error("two repetitions share their kill positions")
	}
	for i, at := range a {
		lo, hi := int64(i)*records/k, int64(i+1)*records/k
		if at < lo || at >= hi {
			t.Errorf("kill %d at %d, outside its stratum [%d, %d)", i+1, at, lo, hi)
		}
	}
	// Over many seeds a kill lands anywhere in its stratum: the mean
	// offset within the stratum is near its middle.
	var sum float64
	const seeds = 2000
	for s := range int64(seeds) {
		at := killPositions(s, "c", 1, 1, records)[0]
		sum += float64(at) / records
	}
	if m := sum / seeds; m < 0.45 || m > 0.55 {
		t.Errorf("mean kill position %.3f of the topic over %d seeds, want about 0.5", m, seeds)
	}
}
