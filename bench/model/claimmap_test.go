package model

import (
	"math"
	"testing"

	"github.com/commitbench/commitbench/bench/summary"
)

// cycleRate is the model worked out another way, for the tests: one
// commit cycle processes N records and then commits, taking N·p + c; if
// that takes longer than the time limit T, the timer fires first and a
// cycle is T long, of which c is the commit, leaving (T − c)/p records.
func cycleRate(p, c, n, t float64) float64 {
	if n*p+c <= t {
		return n / (n*p + c)
	}
	return (t - c) / p / t
}

func TestClaimGainMatchesClosedForm(t *testing.T) {
	for _, k := range []struct {
		name      string
		p, c      float64
		timeBinds bool // for the batched interval
	}{
		// 10,000 records at ~100 µs each take ~1 s: the count fires
		// first at both intervals.
		{"count binds", 100e-6, 2e-3, false},
		// 10,000 records at 10 ms take 100 s: the 60 s timer fires first
		// for the batched interval, while 100 records (1 s) beat its 5 s.
		{"time binds", 10e-3, 2e-3, true},
	} {
		t.Run(k.name, func(t *testing.T) {
			f := Fit{PerRecordS: k.p, PerCommitS: k.c}
			var want float64
			if !k.timeBinds {
				want = (1/(k.p+k.c/10_000))/(1/(k.p+k.c/100)) - 1
			} else {
				want = ((1-k.c/60)/k.p)/(1/(k.p+k.c/100)) - 1
			}
			if alt := cycleRate(k.p, k.c, 10_000, 60)/cycleRate(k.p, k.c, 100, 5) - 1; math.Abs(alt-want) > 1e-12 {
				t.Fatalf("the test's two closed forms disagree: %g and %g", want, alt)
			}
			if got := f.ClaimGain(); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("gain at p=%g, c=%g: %.6f, want %.6f", k.p, k.c, got, want)
			}
			// The effective N is consistent with the rate it produces.
			n := f.RecordsPerCommitAt(ClaimBatched)
			if k.timeBinds {
				if want := cycleRate(k.p, k.c, 10_000, 60) * 60; math.Abs(n/want-1) > 1e-12 || n >= 10_000 {
					t.Errorf("effective N %g, want r·T = %g below 10,000", n, want)
				}
			} else if n != 10_000 {
				t.Errorf("effective N %g, want 10,000", n)
			}
			if got, want := f.ReplayAt(ClaimBatched), n/2; got != want {
				t.Errorf("replay %g, want N/2 = %g", got, want)
			}
		})
	}
	if got := (Fit{PerRecordS: 100e-6, PerCommitS: 2e-3}).ReplayAt(ClaimFrequent); got != 50 {
		t.Errorf("replay at 100 records or 5 s: %g, want 50", got)
	}
}

// The band's outline encloses exactly the cells whose gain is in the
// claimed range: a ray from each cell's centre crosses the outline an odd
// number of times exactly when the gain there is in [10%, 30%].
func TestClaimMapOutlineEnclosesTheBand(t *testing.T) {
	m, err := NewClaimMap(MapPerRecordLo, MapPerRecordHi, MapPerCommitLo, MapPerCommitHi, MapCellsPerDecade)
	if err != nil {
		t.Fatal(err)
	}
	outline := m.Outline()
	inBand := 0
	for i, p := range m.PerRecordS {
		for j, c := range m.PerCommitS {
			f := Fit{PerRecordS: p, PerCommitS: c}
			gain := cycleRate(p, c, 10_000, 60)/cycleRate(p, c, 100, 5) - 1
			if math.Abs(m.Gain[i][j]-gain) > 1e-9*math.Max(1, gain) {
				t.Fatalf("cell (%g, %g): gain %g, the closed form gives %g", p, c, m.Gain[i][j], gain)
			}
			want := gain >= 0.10 && gain <= 0.30
			if want {
				inBand++
			}
			// Rays towards larger p and towards larger c from the cell's
			// centre: count the outline edges each crosses.
			acrossP, acrossC := 0, 0
			for _, s := range outline {
				if s.P0 == s.P1 && s.P0 > p && min(s.C0, s.C1) < c && c < max(s.C0, s.C1) {
					acrossP++
				}
				if s.C0 == s.C1 && s.C0 > c && min(s.P0, s.P1) < p && p < max(s.P0, s.P1) {
					acrossC++
				}
			}
			for _, n := range []int{acrossP, acrossC} {
				if got := n%2 == 1; got != want {
					t.Errorf("cell p=%.3g c=%.3g gain %.1f%%: inside the outline %t, in the band %t (%v)", p, c, 100*gain, got, want, f)
				}
			}
		}
	}
	if inBand == 0 || inBand == len(m.PerRecordS)*len(m.PerCommitS) {
		t.Fatalf("%d of the grid's cells are in the band: the test needs both kinds", inBand)
	}
}

func TestClaimRangeAtBoundsTheBand(t *testing.T) {
	const c = 2.8e-3
	r := ClaimRangeAt(c)
	if !r.Holds {
		t.Fatal("the claim holds nowhere at c = 2.8 ms")
	}
	// Where the count triggers fire first, (p + c/100)/(p + c/10⁴) = 1 + g
	// solves to p = (c/100 − (1 + g)·c/10⁴)/g.
	for _, k := range []struct {
		got, gain float64
	}{{r.From, 0.30}, {r.To, 0.10}} {
		want := (c/100 - (1+k.gain)*c/10_000) / k.gain
		if math.Abs(k.got/want-1) > 1e-6 {
			t.Errorf("gain %.0f%% at p = %.4g µs, want %.4g µs", 100*k.gain, k.got*1e6, want*1e6)
		}
	}
	if g := (Fit{PerRecordS: math.Sqrt(r.From * r.To), PerCommitS: c}).ClaimGain(); !InClaim(g) {
		t.Errorf("inside the range the gain is %.1f%%", 100*g)
	}
	// A commit that costs nothing gains nothing by batching.
	if r := ClaimRangeAt(1e-12); r.Holds {
		t.Errorf("free commits: the claim holds for p in [%g, %g]", r.From, r.To)
	}
}

func TestDefaultClaimMapTakesTheFitIn(t *testing.T) {
	// kfake's commits cost tens of µs, below the default grid.
	m, err := DefaultClaimMap(Fit{PerRecordS: 1.25e-6, PerCommitS: 45e-6})
	if err != nil {
		t.Fatal(err)
	}
	if lo := m.PerCommitEdges[0]; lo > 45e-6 {
		t.Errorf("the map starts at c = %g s, above the fit's 45 µs", lo)
	}
	if lo, hi := m.PerRecordEdges[0], m.PerRecordEdges[len(m.PerRecordEdges)-1]; lo != MapPerRecordLo || hi != MapPerRecordHi {
		t.Errorf("p range [%g, %g] changed though the fit's p is inside it", lo, hi)
	}
}

// The claim map marks at-least-once-sync's fit, whose commits are the
// synchronous ones c stands for, else the first fitted strategy's.
func TestReferenceFitPrefersSyncCommits(t *testing.T) {
	p := Panel{
		Points: []CurvePoint{{Cell: summaryCell("at-most-once")}, {Cell: summaryCell("at-least-once-async")}, {Cell: summaryCell("at-least-once-sync")}},
		Fits:   map[string]Fit{"at-least-once-async": {PerRecordS: 1}, "at-least-once-sync": {PerRecordS: 2}},
	}
	if s, f, ok := p.ReferenceFit(); !ok || s != "at-least-once-sync" || f.PerRecordS != 2 {
		t.Errorf("reference fit %s %+v %t, want at-least-once-sync's", s, f, ok)
	}
	delete(p.Fits, "at-least-once-sync")
	if s, _, ok := p.ReferenceFit(); !ok || s != "at-least-once-async" {
		t.Errorf("reference fit %s %t, want the first fitted strategy, at-least-once-async", s, ok)
	}
	if _, _, ok := (Panel{}).ReferenceFit(); ok {
		t.Error("a panel without fits has a reference fit")
	}
}

func summaryCell(strategy string) summary.Cell { return summary.Cell{Strategy: strategy} }
