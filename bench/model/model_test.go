package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

func TestFitCostRecoversKnownCosts(t *testing.T) {
	const p, c = 1.2e-6, 40e-6
	rng := rand.New(rand.NewPCG(1, 2))
	var obs []Observation
	for _, n := range []float64{20, 50, 100, 300, 1000, 3000, 10_000, 50_000} {
		for range 3 {
			r := 1 / (p + c/n) * (1 + 0.01*rng.NormFloat64())
			obs = append(obs, Observation{RecordsPerCommit: n, RecordsPerSec: r})
		}
	}
	f, err := FitCost(obs)
	if err != nil {
		t.Fatal(err)
	}
	if rel := math.Abs(f.PerRecordS/p - 1); rel > 0.05 {
		t.Errorf("p = %.4g s, want %.4g within 5%% (off by %.1f%%)", f.PerRecordS, p, 100*rel)
	}
	if rel := math.Abs(f.PerCommitS/c - 1); rel > 0.05 {
		t.Errorf("c = %.4g s, want %.4g within 5%% (off by %.1f%%)", f.PerCommitS, c, 100*rel)
	}
	if got, want := f.Ceiling(), 1/p; math.Abs(got/want-1) > 0.05 {
		t.Errorf("ceiling %.0f, want about %.0f", got, want)
	}
	// Committing every t seconds is N = r·t; the closed form must agree.
	r := f.ThroughputEvery(0.01)
	if n := r * 0.01; math.Abs(f.Throughput(n)/r-1) > 1e-9 {
		t.Errorf("ThroughputEvery(10ms) = %.0f is not a fixed point of Throughput(r·t) = %.0f", r, f.Throughput(n))
	}
}

func TestFitCostNeedsTwoIntervals(t *testing.T) {
	obs := []Observation{{100, 5e5}, {100.2, 5.1e5}, {99.9, 4.9e5}}
	if _, err := FitCost(obs); err == nil {
		t.Fatal("FitCost fitted a line through repetitions of a single interval")
	}
}

func fixturePanel(t *testing.T) Panel {
	t.Helper()
	rs, err := results.Read(filepath.Join("..", "plot", "testdata", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Panels(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("the fixture makes %d panels, want 1", len(ps))
	}
	return ps[0]
}

func TestPanelsFlagOnlyThePlantedOutlier(t *testing.T) {
	p := fixturePanel(t)
	if len(p.Ceiling) != 1 || p.Ceiling[0].Strategy != "none" {
		t.Fatalf("ceiling = %v, want the none strategy", p.Ceiling)
	}
	var far []string
	for _, pt := range p.Points {
		if pt.FarOff() {
			far = append(far, pt.Series+" "+pt.Label())
		}
	}
	if len(far) != 1 || far[0] != "at-least-once-sync 1000rec" {
		t.Errorf("points far off their fit: %v, want only at-least-once-sync 1000rec", far)
	}
}

func TestPlanPicksLargestIntervalWithinBudget(t *testing.T) {
	p := fixturePanel(t)
	recs, err := p.Plan(Budget{DupRecords: 5000, Rate: 2e6})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Strategy != "at-least-once-sync" || r.Axis != AxisCount {
			continue
		}
		// 10,000 may replay up to 10,000 > 5,000; 1,000 fits, and the
		// plain interval is preferred to the hybrid one at 1,000 records.
		if r.Point == nil || r.Point.Label() != "1000rec" {
			t.Fatalf("recommended %+v, want 1000rec", r.Point)
		}
		if want := int(math.Ceil(2e6 / r.Point.Throughput.Mean)); r.Consumers != want {
			t.Errorf("consumers = %d, want %d", r.Consumers, want)
		}
		return
	}
	t.Fatal("no count-interval plan for at-least-once-sync")
}

func TestPlanNeedsBudget(t *testing.T) {
	if _, err := fixturePanel(t).Plan(Budget{Rate: 1e6}); err == nil {
		t.Fatal("Plan without a duplicate budget succeeded")
	}
}

func TestCheckClaimUsesNearestIntervals(t *testing.T) {
	for _, c := range fixturePanel(t).CheckClaim() {
		switch c.Axis {
		case AxisCount:
			if !c.Exact || c.Frequent.X != 100 || c.Batched.X != 10_000 {
				t.Errorf("%s count: compared %s vs %s, want exactly 100rec vs 10000rec", c.Strategy, c.Frequent.Label(), c.Batched.Label())
			}
		case AxisTime:
			// The fixture's time intervals stop at 1s: nearest to 60s is 1s,
			// nearest below it to 5s is 100ms.
			if c.Exact || c.Frequent.Label() != "100ms" || c.Batched.Label() != "1s" {
				t.Errorf("%s time: compared %s vs %s (exact %t), want nearest 100ms vs 1s", c.Strategy, c.Frequent.Label(), c.Batched.Label(), c.Exact)
			}
		}
	}
}

// The claim is hybrid ("100 records or 5 s"): hybrid intervals with
// different time limits are compared with each other, not left out.
func TestCheckClaimComparesHybridIntervals(t *testing.T) {
	mk := func(records int64, ms float64, rps float64) results.Result {
		return results.Result{
			SchemaVersion: results.SchemaVersion, Key: fmt.Sprintf("w/sync/%d|%g", records, ms), Workload: "w",
			Strategy: "sync", Guarantee: "at-least-once", Repetition: 1,
			Interval:   spec.Interval{Records: records, Every: spec.Duration(time.Duration(ms * float64(time.Millisecond)))},
			Throughput: results.Throughput{RecordsPerSec: rps, Commits: 1000 / records},
		}
	}
	ps, err := Panels([]results.Result{mk(100, 5000, 8000), mk(10_000, 60_000, 10_000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d panels", len(ps))
	}
	cs := ps[0].CheckClaim()
	if len(cs) != 1 {
		t.Fatalf("%d claim checks, want 1: %+v", len(cs), cs)
	}
	if c := cs[0]; !c.Exact || math.Abs(c.Gain-0.25) > 1e-9 || !c.Within() {
		t.Errorf("check %+v: want the exact intervals, a 25%% gain, within the claim", c)
	}
}

// A fit whose numbers would mean nothing is refused with its reason.
func TestFitRefusesMeaninglessFits(t *testing.T) {
	// Faster with more frequent commits: c < 0.
	neg := []Observation{{100, 900}, {1000, 800}, {10000, 700}}
	if _, err := FitCost(neg); err == nil || !strings.Contains(err.Error(), "per-commit cost") {
		t.Errorf("c ≤ 0 fitted: %v", err)
	}
	// Scatter that does not follow the curve: R² far below MinR2.
	scatter := []Observation{{100, 1000}, {100, 500}, {1000, 990}, {1000, 510}, {10000, 700}, {10000, 720}}
	if _, err := FitCost(scatter); err == nil || !strings.Contains(err.Error(), "R²") {
		t.Errorf("a scatter fitted: %v", err)
	}
	p := fixturePanel(t)
	if err := p.FitErrors["autocommit"]; err == nil {
		t.Error("autocommit's flat, noisy points were fitted")
	}
}
