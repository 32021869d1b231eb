package gate

import (
	"encoding/xml"
	"fmt"
	"io"
)

// The JUnit XML that CI systems read.
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

// metricCase is one cell's metric as a test case: a failure when it
// regressed (or, under strict, was inconclusive), skipped when it was not
// decided or not gated, passed otherwise. figures carries the numbers.
func metricCase(key, metric string, v Verdict, strict bool, why, figures string) junitCase {
	jc := junitCase{Name: key + " " + metric, ClassName: "commitbench.gate", SystemOut: figures}
	msg := &junitMessage{Message: fmt.Sprintf("%s: %s", v, figures), Body: why}
	switch {
	case v == Regressed || strict && v == Inconclusive:
		jc.Failure = msg
	case v == Inconclusive || v == NotMeasured || v == NotGated:
		jc.Skipped = msg
	}
	return jc
}

// breachCase is a correctness breach as a failing test case.
func breachCase(b Breach, side string) junitCase {
	return junitCase{Name: fmt.Sprintf("%s rep %d %s (%s)", b.Key, b.Repetition, b.Rule, side), ClassName: "commitbench.correctness",
		Failure: &junitMessage{Message: b.Detail}}
}

// writeJUnit writes cases as one suite.
func writeJUnit(w io.Writer, suite string, cases []junitCase) error {
	s := junitSuite{Name: suite, Tests: len(cases), Cases: cases}
	for _, c := range cases {
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
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

// WriteJUnit writes the report as JUnit XML: one case per cell and metric,
// one per breach, and one failing case per point missing on a side
// (unless allowed).
func (r *Report) WriteJUnit(w io.Writer) error {
	var cases []junitCase
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			cl := m.cells()
			cases = append(cases, metricCase(c.Key, m.Metric, m.Verdict, r.Strict, m.Why,
				fmt.Sprintf("n %s: baseline %s, current %s, change %s, CI %s, drift %s, limit %s", cl.n, cl.base, cl.cur, cl.change, cl.ci, cl.drift, cl.limit)))
		}
	}
	for _, b := range r.Breaches {
		cases = append(cases, breachCase(b, "current"))
	}
	for _, side := range []struct {
		keys []string
		what string
	}{{r.MissingInCurrent, "missing in the current run"}, {r.MissingInBaseline, "missing in the baseline"}} {
		for _, k := range side.keys {
			jc := junitCase{Name: k + " present", ClassName: "commitbench.gate"}
			msg := &junitMessage{Message: k + " is " + side.what}
			if r.AllowMissing {
				jc.Skipped = msg
			} else {
				jc.Failure = msg
			}
			cases = append(cases, jc)
		}
	}
	return writeJUnit(w, "commitbench gate", cases)
}
