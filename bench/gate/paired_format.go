package gate

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// WriteText writes the paired report as a table, the breaches, and the
// one-line outcome.
func (r *PairedReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POINT\tMETRIC\tPAIRS\tBASELINE\tCANDIDATE\tCHANGE\t95% CI\tLIMIT\tVERDICT")
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s%.0f%%\t%s\n", c.Key, m.Metric, m.N,
				num(m.A, m.Unit), num(m.B, m.Unit), pct(m.ChangePct), interval(m), badSign(m), m.LimitPct, verdict(m))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Breaches) > 0 {
		fmt.Fprintln(w, "\nCORRECTNESS BREACHES (fail whatever the statistics):")
		for i, b := range r.Breaches {
			fmt.Fprintf(w, "  FAIL %s %s rep %d: %s: %s\n", r.Sides[i], b.Key, b.Repetition, b.Rule, b.Detail)
		}
	}
	_, err := fmt.Fprintln(w, "\n"+r.Summary())
	return err
}

// Summary is the one-line outcome, e.g. "FAIL (exit 1): 1 regression".
func (r *PairedReport) Summary() string {
	var reg, inc int
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			switch m.Verdict {
			case Regressed:
				reg++
			case Inconclusive:
				inc++
			}
		}
	}
	s := fmt.Sprintf("%s, %s, %s", plural(reg, "regression"), plural(inc, "inconclusive metric"), plural(len(r.Breaches), "correctness breach"))
	if r.ExitCode() == ExitPass {
		return "PASS: " + s
	}
	return fmt.Sprintf("FAIL (exit %d): %s", r.ExitCode(), s)
}

func num(v float64, unit string) string {
	if v == 0 || math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4g %s", v, unit)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", v)
}

func interval(m PairedMetric) string {
	if math.IsNaN(m.LoPct) {
		return "-"
	}
	return fmt.Sprintf("[%+.1f%%, %+.1f%%]", m.LoPct, m.HiPct)
}

func badSign(m PairedMetric) string {
	if m.HigherIsBetter {
		return "-"
	}
	return "+"
}

func verdict(m PairedMetric) string {
	if m.Why != "" {
		return fmt.Sprintf("%s (%s)", m.Verdict, m.Why)
	}
	return string(m.Verdict)
}

// junit is the JUnit XML that CI systems read: one test case per cell and
// metric, and one per correctness breach.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML. A regressed metric and a
// breach are failures carrying their numbers; an inconclusive metric is a
// skipped case (a failure with Strict).
func (r *PairedReport) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: "commitbench gate ab"}
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			jc := junitCase{Name: c.Key + " " + m.Metric, ClassName: "commitbench.gate",
				SystemOut: fmt.Sprintf("%d pairs: baseline %s, candidate %s, change %s, 95%% CI %s, limit %s%.0f%%",
					m.N, num(m.A, m.Unit), num(m.B, m.Unit), pct(m.ChangePct), interval(m), badSign(m), m.LimitPct)}
			msg := &junitMessage{Message: fmt.Sprintf("%s: change %s, 95%% CI %s, limit %s%.0f%%", m.Verdict, pct(m.ChangePct), interval(m), badSign(m), m.LimitPct), Body: m.Why}
			switch {
			case m.Verdict == Regressed || r.Strict && m.Verdict == Inconclusive:
				jc.Failure = msg
				s.Failures++
			case m.Verdict == Inconclusive || m.Verdict == NotMeasured:
				jc.Skipped = msg
				s.Skipped++
			}
			s.Cases = append(s.Cases, jc)
		}
	}
	for i, b := range r.Breaches {
		s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("%s rep %d %s (%s)", b.Key, b.Repetition, b.Rule, r.Sides[i]), ClassName: "commitbench.correctness",
			Failure: &junitMessage{Message: b.Detail}})
		s.Failures++
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
