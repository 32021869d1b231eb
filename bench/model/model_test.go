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
		// The replay budget is what stops it: 10,000 records is larger.
		if r.Exceeds == nil || r.Exceeds.Label() != "10000rec" {
			t.Errorf("the budget ruled out %v, want 10000rec", r.Exceeds)
		}
		// 2M records/s committed every 1,000 records is 2,000 commits/s
		// however many consumers share it.
		if math.Abs(r.GroupCommitsPerSec-2000) > 1e-6 {
			t.Errorf("group commits/s %g, want 2000", r.GroupCommitsPerSec)
		}
		if !r.ThroughputBinds() || r.Coordinator.Measured {
			t.Errorf("2M records/s over a ~600k/s consumer: throughput binds %t; coordinator measured %t without a limit", r.ThroughputBinds(), r.Coordinator.Measured)
		}
		return
	}
	t.Fatal("no count-interval plan for at-least-once-sync")
}

// Given the coordinator's capacity, the plan says whether the group's
// commits fit it, and how many records per commit would.
func TestPlanChecksTheCoordinator(t *testing.T) {
	p := fixturePanel(t)
	for _, k := range []struct {
		limit float64
		binds bool
	}{{1000, true}, {5000, false}} {
		recs, err := p.Plan(Budget{DupRecords: 5000, Rate: 2e6, CoordinatorCommitsPerSec: k.limit})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Strategy != "at-least-once-sync" || r.Axis != AxisCount {
				continue
			}
			c := r.Coordinator
			if !c.Measured || c.Binds != k.binds || c.MinRecordsPerCommit != 2e6/k.limit {
				t.Errorf("limit %g commits/s: %+v, want binds %t and at least %g records per commit", k.limit, c, k.binds, 2e6/k.limit)
			}
		}
	}
}

// A time interval commits every T whatever the rate; a hybrid one at the
// faster of its two triggers.
func TestCommitsPerSecAt(t *testing.T) {
	mk := func(records int64, every time.Duration) CurvePoint {
		pt := CurvePoint{}
		pt.Interval = spec.Interval{Records: records, Every: spec.Duration(every)}
		pt.RecordsPerCommit = math.Inf(1)
		return pt
	}
	for _, k := range []struct {
		pt   CurvePoint
		rate float64
		want float64
	}{
		{mk(1000, 0), 50_000, 50},
		{mk(0, 100*time.Millisecond), 50_000, 10},
		{mk(1000, 100*time.Millisecond), 50_000, 50}, // the count fires first
		{mk(1000, 100*time.Millisecond), 2_000, 10},  // the timer does
	} {
		if got := k.pt.CommitsPerSecAt(k.rate); math.Abs(got-k.want) > 1e-9 {
			t.Errorf("%s at %g records/s: %g commits/s, want %g", k.pt.Label(), k.rate, got, k.want)
		}
	}
}

// With no rate given, a plan sustains half the measured ceiling.
func TestDefaultRateIsHalfTheCeiling(t *testing.T) {
	p := fixturePanel(t)
	rate, basis := p.DefaultRate()
	if want := p.Ceiling[0].Throughput.Mean / 2; rate != want || !strings.Contains(basis, "ceiling") {
		t.Errorf("default rate %g (%s), want %g, half the ceiling", rate, basis, want)
	}
	p.Ceiling = nil
	if rate, basis := p.DefaultRate(); rate <= 0 || !strings.Contains(basis, "fastest") {
		t.Errorf("without a ceiling: %g (%s), want half the fastest point", rate, basis)
	}
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

// Repetitions of one interval scatter in records per commit; a line
// through that scatter is no cost model, however well it fits.
func TestFitNeedsTwoMeasuredIntervals(t *testing.T) {
	var rs []results.Result
	for rep, n := range []int64{980, 1000, 1030} { // one time interval, N varies
		rs = append(rs, results.Result{
			SchemaVersion: results.SchemaVersion, Key: "w/autocommit/100ms", Workload: "w", Strategy: "autocommit",
			Guarantee: "at-least-once", Repetition: rep + 1, Interval: spec.Interval{Every: spec.Duration(100 * time.Millisecond)},
			Throughput: results.Throughput{RecordsPerSec: 1 / (1e-6 + 50e-6/float64(n)), MeasuredRecords: 100 * n, Commits: 100},
		})
	}
	ps, err := Panels(rs)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := ps[0].Fits["autocommit"]; ok {
		t.Errorf("fitted %+v to one interval", f)
	}
	if err := ps[0].FitErrors["autocommit"]; err == nil || !strings.Contains(err.Error(), "two intervals") {
		t.Errorf("fit error %v, want one naming the single interval", err)
	}
}
