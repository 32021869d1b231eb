package gate

import (
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

// WriteJUnit writes the report as JUnit XML: one case per cell and
// metric, one per breach. A regressed metric and a breach are failures
// carrying their numbers; an inconclusive metric is a skipped case (a
// failure with Strict).
func (r *PairedReport) WriteJUnit(w io.Writer) error {
	var cases []junitCase
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			cases = append(cases, metricCase(c.Key, m.Metric, m.Verdict, r.Strict, m.Why,
				fmt.Sprintf("%d pairs: baseline %s, candidate %s, change %s, 95%% CI %s, limit %s%.0f%%",
					m.N, num(m.A, m.Unit), num(m.B, m.Unit), pct(m.ChangePct), interval(m), badSign(m), m.LimitPct)))
		}
	}
	for i, b := range r.Breaches {
		cases = append(cases, breachCase(b, r.Sides[i]))
	}
	return writeJUnit(w, "commitbench gate ab", cases)
}
