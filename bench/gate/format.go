package gate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/commitbench/commitbench/bench/results"
)

// Formats the report can be written in.
const (
	FormatText      = "text"
	FormatMarkdown  = "markdown"
	FormatBenchstat = "benchstat"
)

// Write renders the report: a text table, a Markdown comment for a pull
// request, or both sides' results as one benchstat input (read it with
// benchstat -col side).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatText:
		return r.writeText(w)
	case FormatMarkdown:
		return r.writeMarkdown(w)
	case FormatBenchstat:
		if err := WriteBenchstat(w, "baseline", r.baseline); err != nil {
			return err
		}
		return WriteBenchstat(w, "current", r.current)
	}
	return fmt.Errorf("unknown format %q; use text, markdown or benchstat", format)
}

// Summary is the one-line outcome, e.g. "FAIL (exit 1): 1 regression".
func (r *Report) Summary() string {
	var parts []string
	if n := r.Count(Regressed); n > 0 {
		parts = append(parts, plural(n, "regression"))
	}
	if n := len(r.Breaches); n > 0 {
		parts = append(parts, plural(n, "correctness breach"))
	}
	if n := len(r.MissingInCurrent) + len(r.MissingInBaseline); n > 0 {
		allowed := ""
		if r.AllowMissing {
			allowed = ", allowed"
		}
		parts = append(parts, plural(n, "missing point")+allowed)
	}
	if n := r.Count(Inconclusive); n > 0 {
		parts = append(parts, plural(n, "inconclusive metric"))
	}
	parts = append(parts, fmt.Sprintf("%s compared", plural(len(r.Cells), "point")))
	status := "PASS"
	if code := r.ExitCode(); code != ExitPass {
		status = fmt.Sprintf("FAIL (exit %d)", code)
	}
	return status + ": " + strings.Join(parts, ", ")
}

func (r *Report) writeText(out io.Writer) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "commitbench gate\n  baseline:   %s (%s)\n  current:    %s\n  thresholds: %s\n\n", r.Baseline, plural(len(r.BaselineRuns), "run"), r.Current, r.configLabel())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POINT\tMETRIC\tBASELINE\tCURRENT\tCHANGE\tCI\tDRIFT\tLIMIT\tN\tVERDICT")
	for _, p := range r.Cells {
		for _, m := range p.Metrics {
			c := m.cells()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Key, m.Metric, c.base, c.cur, c.change, c.ci, c.drift, c.limit, c.n, m.verdictText())
		}
	}
	tw.Flush()

	if len(r.Breaches) > 0 {
		fmt.Fprintf(w, "\nCORRECTNESS BREACHES in the current run (these fail the gate regardless of statistics):\n")
		for _, b := range r.Breaches {
			fmt.Fprintf(w, "  FAIL %s rep %d: %s: %s\n", b.Key, b.Repetition, b.Rule, b.Detail)
		}
	} else {
		fmt.Fprintf(w, "\ncorrectness: no breach of any strategy's guarantee in the current run\n")
	}
	writeList(w, "\nmissing in current (only the baseline has these points):\n", "  ", r.MissingInCurrent)
	writeList(w, "\nmissing in baseline (new points, not gated; record a new baseline to gate them):\n", "  ", r.MissingInBaseline)
	writeList(w, "\nnotes:\n", "  ", r.Notes)
	if warn := r.inconclusiveWarning(); warn != "" {
		fmt.Fprintf(w, "\nWARNING: %s\n", warn)
	}
	fmt.Fprintf(w, "\n%s\n", r.Summary())
	return w.Flush()
}

func (r *Report) writeMarkdown(out io.Writer) error {
	w := bufio.NewWriter(out)
	icon := "✅"
	if r.ExitCode() != ExitPass {
		icon = "❌"
	}
	fmt.Fprintf(w, "### %s commitbench gate — %s\n\n", icon, r.Summary())
	fmt.Fprintf(w, "Baseline `%s` (%s) · current `%s` · thresholds: %s\n\n", r.Baseline, plural(len(r.BaselineRuns), "run"), r.Current, r.configLabel())
	if warn := r.inconclusiveWarning(); warn != "" {
		fmt.Fprintf(w, "> [!WARNING]\n> %s\n\n", warn)
	}
	if len(r.Breaches) > 0 {
		fmt.Fprintf(w, "#### Correctness breaches (fail regardless of statistics)\n\n")
		for _, b := range r.Breaches {
			fmt.Fprintf(w, "- `%s` rep %d — **%s**: %s\n", b.Key, b.Repetition, b.Rule, b.Detail)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| point | metric | baseline | current | change | CI | drift | limit | n | verdict |\n")
	fmt.Fprintf(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, p := range r.Cells {
		for _, m := range p.Metrics {
			c := m.cells()
			verdict := m.verdictText()
			if m.Verdict == Regressed || m.Verdict == Inconclusive {
				verdict = "**" + verdict + "**"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				strings.ReplaceAll(p.Key, "|", `\|`), m.Metric, c.base, c.cur, c.change, c.ci, c.drift, c.limit, c.n, mdCell(verdict))
		}
	}
	writeList(w, "\n**Missing in current** (only the baseline has these points):\n\n", "- ", r.MissingInCurrent)
	writeList(w, "\n**Missing in baseline** (new points, not gated):\n\n", "- ", r.MissingInBaseline)
	writeList(w, "\n**Notes**\n\n", "- ", r.Notes)
	return w.Flush()
}

func (r *Report) configLabel() string {
	src := r.ConfigSource
	if src == "" {
		src = "built-in defaults"
	}
	d := r.Defaults
	s := fmt.Sprintf("%s: %g%% intervals, throughput (and share of ceiling) drop %g%%, commit p99 rise %g%%, recovery rise %g%%, or the baseline's drift between runs where larger",
		src, 100*(1-d.Alpha), d.ThroughputDropPct, d.CommitP99RisePct, d.RecoveryRisePct)
	if len(r.Overrides) > 0 {
		s += "; overridden for " + strings.Join(r.Overrides, ", ")
	}
	return s
}

// inconclusiveWarning explains, loudly, that some metrics could not be
// decided, and so were not failed.
func (r *Report) inconclusiveWarning() string {
	n := r.Count(Inconclusive)
	if n == 0 {
		return ""
	}
	if r.Strict {
		return fmt.Sprintf("%s inconclusive, which fails the gate under --strict.", plural(n, "metric"))
	}
	return fmt.Sprintf("%s inconclusive: the samples cannot tell whether the change is within its limit, so a regression there may pass unnoticed. "+
		"Run at least %d repetitions per run (workload `repetitions:`) in the baseline and in CI, record the baseline from two or more runs, or use gate ab; --strict fails on them.",
		plural(n, "metric"), MinRepetitions)
}

// cells are a metric's table cells as text.
type cells struct{ base, cur, change, ci, drift, limit, n string }

func (m MetricResult) cells() cells {
	c := cells{base: "-", cur: "-", change: "-", ci: "-", drift: "-", n: fmt.Sprintf("%d+%d", m.N1, m.N2)}
	if m.Runs > 1 {
		c.n = fmt.Sprintf("%d(%d runs)+%d", m.N1, m.Runs, m.N2)
	}
	sign := "+"
	if m.HigherIsBetter {
		sign = "-"
	}
	c.limit = fmt.Sprintf("%s%g%%", sign, m.LimitPct)
	if m.Verdict == NotMeasured {
		return c
	}
	c.base = formatValue(m.Baseline) + " " + m.Unit
	c.cur = formatValue(m.Current) + " " + m.Unit
	c.change = fmt.Sprintf("%+.1f%%", m.ChangePct)
	if !math.IsNaN(m.LoPct) {
		c.ci = fmt.Sprintf("[%+.1f%%, %+.1f%%]", m.LoPct, m.HiPct)
	}
	if !math.IsNaN(m.DriftPct) {
		c.drift = fmt.Sprintf("%.1f%%", m.DriftPct)
	}
	return c
}

func (m MetricResult) verdictText() string {
	if m.Why != "" {
		return fmt.Sprintf("%s (%s)", m.Verdict, m.Why)
	}
	return string(m.Verdict)
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// formatValue gives three or four significant digits, with k and M for big
// figures such as records per second.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.4g", v)
}

func writeList(w io.Writer, head, bullet string, items []string) {
	if len(items) == 0 {
		return
	}
	io.WriteString(w, head)
	for _, it := range items {
		fmt.Fprintf(w, "%s%s\n", bullet, it)
	}
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	if strings.HasSuffix(s, "ch") {
		return fmt.Sprintf("%d %ses", n, s)
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// WriteBenchstatFiles writes dir/baseline.txt and dir/current.txt, the two
// inputs of a plain "benchstat baseline.txt current.txt".
func (r *Report) WriteBenchstatFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating benchstat directory: %w", err)
	}
	for _, side := range []struct {
		name string
		rs   []results.Result
	}{{"baseline", r.baseline}, {"current", r.current}} {
		var b bytes.Buffer
		if err := WriteBenchstat(&b, side.name, side.rs); err != nil {
			return err
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, side.name+".txt"), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// WriteBenchstat writes results in the Go benchmark format, one line per
// repetition, under a "side: <side>" configuration line, so benchstat can
// read them: either two files (benchstat baseline.txt current.txt) or both
// sides in one stream (benchstat -col side gate.txt). Latencies are written
// in ns so benchstat scales them to µs, ms or s itself.
func WriteBenchstat(out io.Writer, side string, rs []results.Result) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "Unit records/s better=higher\nUnit commit-p99-ns better=lower\nUnit recovery-ns better=lower\n")
	fmt.Fprintf(w, "side: %s\n", side)
	for _, r := range rs {
		// A benchmark name ends at the first space.
		fmt.Fprintf(w, "BenchmarkCommit/%s 1 %g records/s", strings.Join(strings.Fields(r.Key), "_"), r.Throughput.RecordsPerSec)
		if r.Throughput.CommitLatency.Count > 0 {
			fmt.Fprintf(w, " %g commit-p99-ns", r.Throughput.CommitLatency.P99Us*1e3)
		}
		if r.Crash != nil && len(r.Crash.RecoveryMs) > 0 {
			fmt.Fprintf(w, " %g recovery-ns", r.Crash.RecoveryMeanMs*1e6)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}
