package gate

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/results"
)

// pairs builds n repetitions of one cell on each side: the baseline at
// base·drift_i, the candidate at base·drift_i·(1+change) times its own
// wobble, as interleaved runs that share the machine's drift give them.
func pairs(n int, base, change float64, wobble []float64) (a, b []results.Result) {
	for i := range n {
		drift := 1 + 0.08*float64(i%3-1) // the machine: ±8% from pair to pair
		ra := point(key, i+1, base*drift, 1000, 10)
		rb := point(key, i+1, base*drift*(1+change)*(1+wobble[i%len(wobble)]), 1000, 10)
		a, b = append(a, ra), append(b, rb)
	}
	return a, b
}

func pairedVerdict(t *testing.T, a, b []results.Result) (PairedMetric, *PairedReport) {
	t.Helper()
	rep, err := ComparePaired(a, b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Cells[0].Metrics {
		if m.Metric == "throughput" {
			return m, rep
		}
	}
	t.Fatal("no throughput metric")
	return PairedMetric{}, nil
}

func TestPairedDriftCancels(t *testing.T) {
	// ±8% drift between pairs, ±1% within a pair: the same code passes.
	a, b := pairs(6, 100_000, 0, []float64{0.01, -0.01, 0.005})
	m, rep := pairedVerdict(t, a, b)
	if m.Verdict != OK || rep.ExitCode() != ExitPass {
		t.Errorf("A/A with drift: %+v, exit %d; want ok, 0", m, rep.ExitCode())
	}
}

func TestPairedRegressionFails(t *testing.T) {
	a, b := pairs(6, 100_000, -0.30, []float64{0.01, -0.01, 0.005})
	m, rep := pairedVerdict(t, a, b)
	if m.Verdict != Regressed || rep.ExitCode() != ExitRegression || m.HiPct > -10 {
		t.Errorf("a 30%% drop: %+v, exit %d; want regressed, 1, the interval beyond -10%%", m, rep.ExitCode())
	}
}

func TestPairedSmallChangePasses(t *testing.T) {
	// 3% slower, within the 10% limit: never a failure.
	a, b := pairs(6, 100_000, -0.03, []float64{0.02, -0.02, 0.01})
	if m, rep := pairedVerdict(t, a, b); m.Verdict == Regressed || rep.ExitCode() != ExitPass {
		t.Errorf("a 3%% change: %+v, exit %d; want a pass", m, rep.ExitCode())
	}
}

func TestPairedUndecidedIsInconclusive(t *testing.T) {
	// Straddling the limit with wide noise: neither ok nor regressed.
	a, b := pairs(4, 100_000, -0.10, []float64{0.08, -0.08, 0.06, -0.06})
	m, rep := pairedVerdict(t, a, b)
	if m.Verdict != Inconclusive || rep.ExitCode() != ExitPass {
		t.Errorf("an undecided change: %+v, exit %d; want inconclusive, 0", m, rep.ExitCode())
	}
	rep.Strict = true
	if rep.ExitCode() != ExitRegression {
		t.Error("--strict let an inconclusive metric pass")
	}
	a, b = pairs(2, 100_000, -0.5, []float64{0})
	if m, _ := pairedVerdict(t, a, b); m.Verdict != Inconclusive {
		t.Errorf("2 pairs: %+v; want inconclusive", m)
	}
}

func TestPairedBreachFailsWithOneRepetition(t *testing.T) {
	a, b := pairs(1, 100_000, 0, []float64{0})
	b[0].Guarantee = "exactly-once"
	b[0].Crash.Duplicates = 1
	_, rep := pairedVerdict(t, a, b)
	if len(rep.Breaches) != 1 || rep.Sides[0] != "candidate" || rep.ExitCode() != ExitRegression {
		t.Errorf("breaches %+v on %v, exit %d; want one duplicates breach of the candidate, 1", rep.Breaches, rep.Sides, rep.ExitCode())
	}
}

func TestPairedJUnit(t *testing.T) {
	a, b := pairs(6, 100_000, -0.30, []float64{0.01, -0.01, 0.005})
	_, rep := pairedVerdict(t, a, b)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit file does not parse: %v\n%s", err, buf.String())
	}
	var failed []string
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name+": "+c.Failure.Message)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], key+" throughput") || !strings.Contains(failed[0], "REGRESSED") || !strings.Contains(failed[0], "CI [") {
		t.Errorf("failing cases %v; want the throughput case with its numbers", failed)
	}
}
