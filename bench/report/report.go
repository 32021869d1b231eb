// Package report turns a run's results into one self-contained HTML page
// (figures inline, tables, the run's environment) and a Markdown summary
// fit for a pull request: measurements, what the commits cost the broker,
// the fitted cost model and the points far from it, the domain's batching
// claim against what was measured and where the model says it holds, and
// a capacity plan for a duplicate budget and a rate — defaults where none
// is given.
package report

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/plot"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/summary"
	"github.com/commitbench/commitbench/bench/table"
)

// File names Write produces in the results directory.
const (
	HTMLFile     = "report.html"
	MarkdownFile = "report.md"
)

//go:embed templates
var templates embed.FS

// Report is a run's report content, shared by the HTML and Markdown forms.
type Report struct {
	Title string
	Runs  string
	// Budget says what the capacity plans are for, which of it are
	// defaults and which flag changes each.
	Budget string
	Panels []Panel
}

// Panel is the report on one workload and broker.
type Panel struct {
	Title string
	// Environment, Measurements, Load, Replay, Fits, Claim and Plan are
	// the tables; Replay is nil without a crash phase.
	Environment, Measurements, Load, Replay, Fits, Claim, Plan *Table
	// Scenarios is the consumer groups' scenario phases, nil without.
	Scenarios *Table
	// Faults is what each fault kind cost, nil without faults.
	Faults *Table
	// FarOff lists the points more than model.FarOff from their fit.
	FarOff []string
	// Violations lists every breach a strategy's claim suffered.
	Violations []string
	Figures    []Figure
	// FigureNotes name the figures the data could not support, and why.
	FigureNotes []string
}

// Figure is one inline figure.
type Figure struct {
	Title string
	// PNG is the image as a data: URL.
	PNG htmltemplate.URL
}

// Table is a captioned table with preformatted cells.
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
	Notes   []string
}

// Build prepares the report, with a capacity plan per panel for ps;
// withFigures renders the figures for the HTML page.
func Build(rs []results.Result, ps PlanSettings, withFigures bool) (*Report, error) {
	if ps.Budget.Empty() {
		return nil, errors.New("a capacity plan needs a duplicate budget: give --dup-budget-records or --dup-budget-seconds above 0, or neither for the default")
	}
	panels, err := model.Panels(rs)
	if err != nil {
		return nil, err
	}
	r := &Report{Title: "commitbench report", Runs: strings.Join(runIDs(rs), ", "), Budget: ps.text()}
	for _, p := range panels {
		rp := Panel{
			Title:        p.Title(),
			Environment:  environmentTable(p),
			Measurements: measurementTable(p),
			Load:         loadTable(p),
			Replay:       replayTable(p),
			Scenarios:    scenarioTable(p),
			Faults:       faultTable(p),
			Fits:         fitTable(p),
			Claim:        claimTable(p),
			FarOff:       farOff(p),
			Violations:   violations(p),
		}
		if rp.Plan, err = planTable(p, ps); err != nil {
			return nil, fmt.Errorf("planning capacity for %s: %w", p.Title(), err)
		}
		if withFigures {
			set, err := plot.Figures([]model.Panel{p})
			if err != nil {
				return nil, err
			}
			rp.FigureNotes = set.Notes
			for _, f := range set.Figures {
				png, err := f.Render("png")
				if err != nil {
					return nil, err
				}
				rp.Figures = append(rp.Figures, Figure{Title: f.Title,
					PNG: htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))})
			}
		}
		r.Panels = append(r.Panels, rp)
	}
	return r, nil
}

// HTML writes the self-contained HTML page.
func (r *Report) HTML(w io.Writer) error {
	t, err := htmltemplate.New("report.html.tmpl").ParseFS(templates, "templates/report.html.tmpl")
	if err != nil {
		return fmt.Errorf("parsing the HTML template: %w", err)
	}
	if err := t.Execute(w, r); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

// Markdown writes the Markdown summary.
func (r *Report) Markdown(w io.Writer) error {
	t, err := texttemplate.New("report.md.tmpl").Funcs(texttemplate.FuncMap{"cell": mdCell}).
		ParseFS(templates, "templates/report.md.tmpl")
	if err != nil {
		return fmt.Errorf("parsing the Markdown template: %w", err)
	}
	if err := t.Execute(w, r); err != nil {
		return fmt.Errorf("writing the Markdown report: %w", err)
	}
	return nil
}

// Write builds the report and writes report.html and report.md into dir,
// returning their paths.
func Write(dir string, rs []results.Result, ps PlanSettings) ([]string, error) {
	r, err := Build(rs, ps, true)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the report directory: %w", err)
	}
	var paths []string
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{{HTMLFile, r.HTML}, {MarkdownFile, r.Markdown}} {
		var buf bytes.Buffer
		if err := out.write(&buf); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, out.name)
		if err := results.WriteFileAtomic(path, buf.Bytes()); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// mdCell keeps a cell inside its Markdown table column.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func runIDs(rs []results.Result) []string {
	var ids []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.RunID] {
			seen[r.RunID] = true
			ids = append(ids, r.RunID)
		}
	}
	return ids
}

func environmentTable(p model.Panel) *Table {
	f := p.First
	b, e, c := f.Broker, f.Machine, f.Client
	delay := "none"
	if b.EmulatedCommitDelayNs > 0 {
		delay = b.DelayNote()
	}
	rows := [][]string{
		{"broker", b.Label()},
		{"broker kind / version", b.Kind + " / " + b.Version},
		{"brokers / __consumer_offsets replication", fmt.Sprintf("%d / %d", b.Brokers, b.OffsetsReplication)},
		{"emulated commit delay", delay},
		{"broker note", b.Note},
		{"workload", f.Workload},
		{"topic", fmt.Sprintf("%d partitions, %d records of %d bytes, keys %s", f.Topic.Partitions, f.Topic.Records, f.Topic.RecordBytes, f.Topic.Keys)},
		{"processing per record", fmt.Sprintf("%g µs CPU + %g µs sleep", f.Processing.CPUMicros, f.Processing.SleepMicros)},
		{"crash plan", fmt.Sprintf("%d SIGKILLs per point, seed %d", f.Crashes.PerPoint, f.Crashes.Seed)},
		{"client", fmt.Sprintf("fetch max %d B (%d B per partition), fetch wait %s, max poll %d records, linger %s, compression %s, session timeout %s, static membership %t",
			c.FetchMaxBytes, c.FetchMaxPartitionBytes, c.FetchMaxWait, c.MaxPollRecords, c.Linger, c.Compression, c.SessionTimeout, c.Static())},
		{"commitbench / Go / franz-go", e.Commitbench + " / " + e.GoVersion + " / " + e.FranzGo},
		{"machine", fmt.Sprintf("%s/%s, %d CPUs", e.OS, e.Arch, e.CPUs)},
	}
	return &Table{Caption: "Environment", Head: []string{"setting", "value"}, Rows: rows}
}

func measurementTable(p model.Panel) *Table {
	t := &Table{Caption: "Measurements (repetitions merged: throughput mean ± standard deviation; commit latency from the merged histograms, with its sample count)",
		Head: []string{"strategy", "interval", "reps", "throughput (records/s)", "of ceiling", "records/commit",
			"commits (n)", "commit p50 / p99 / p99.9 (µs)", "wire p50 / p99 (µs)", "replay mean / max per crash", "loss max per crash", "crashes", "off fit"}}
	for _, c := range p.Ceiling {
		cc := crashCells(c)
		t.Rows = append(t.Rows, []string{c.Strategy, "never commits", fmt.Sprint(c.Throughput.N), rate(c.Throughput), summary.Percent(c.OfCeiling), "–", "–", "–", "–", cc[0], cc[1], crashCount(c), "–"})
	}
	for _, pt := range p.Points {
		dev := "–"
		if pt.Fitted {
			dev = percent(pt.Deviation)
			if pt.FarOff() {
				dev += " ⚠"
			}
		}
		cc := crashCells(pt)
		t.Rows = append(t.Rows, []string{pt.Series, pt.Label(), fmt.Sprint(pt.Throughput.N), rate(pt.Throughput), summary.Percent(pt.OfCeiling),
			records(pt.RecordsPerCommit), fmt.Sprint(pt.Commit.Count), latency(pt.Commit, summary.P50, summary.P99, summary.P999),
			latency(pt.WireCommit, summary.P50, summary.P99), cc[0], cc[1], crashCount(pt), dev})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("A tail percentile resting on too few samples shows its count instead (n=…): p99 needs %d, p99.9 %d.", summary.MinSamplesP99, summary.MinSamplesP999))
	return t
}

// loadTable is what the commits cost the broker and the worker, per
// throughput phase, next to the throughput they bought.
func loadTable(p model.Panel) *Table {
	t := &Table{Caption: "Load per throughput phase: what the commits cost the broker, next to throughput (mean over the repetitions that measured it)",
		Head: []string{"strategy", "interval", "throughput (records/s)", "commits", "worker CPU (s)", "broker CPU (s)", "broker CPU per 1,000 commits (s)", "__consumer_offsets bytes per commit"}}
	for _, pt := range append(append([]model.CurvePoint(nil), p.Ceiling...), p.Points...) {
		t.Rows = append(t.Rows, []string{pt.Series, pt.Label(), rate(pt.Throughput), fmt.Sprintf("%.0f", pt.Commits.Mean),
			counted(pt.WorkerCPUSeconds, "%.2f"), counted(pt.BrokerCPUSeconds, "%.2f"), counted(pt.BrokerCPUPer1kCommits, "%.3f"), counted(pt.OffsetsBytesPerCommit, "%.0f")})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("Broker CPU is that of %s over the whole phase, fetches included: at long intervals few commits share the fetches' CPU, so per commit it grows; the broker CPU column across intervals shows what the commits add. (n=…) marks a figure fewer than %d repetitions measured.",
		p.Broker.CPUSource(), summary.MinRepetitions))
	if p.Broker.Kind == cluster.KindEmbedded {
		t.Notes = append(t.Notes, "The embedded broker runs inside the harness process, so its CPU is the harness's too, and it keeps no __consumer_offsets log: bytes per commit are not measured.")
	}
	return t
}

// counted prints a figure with its sample count when few repetitions
// stand behind it.
func counted(s summary.Stat, format string) string {
	v := stat(s, format)
	if s.N > 0 && s.N < summary.MinRepetitions {
		v += fmt.Sprintf(" (n=%d)", s.N)
	}
	return v
}

// replayTable sets each cell's measured replay per crash beside the
// model's: a kill at a uniformly random moment of the commit cycle replays
// a uniform share of the window W — N records for a count interval, r·T at
// the measured rate r for a time interval T (the smaller for a hybrid) —
// so quartiles W/4, W/2, 3W/4, at most W.
func replayTable(p model.Panel) *Table {
	t := &Table{Caption: "Replay per crash against the model (kills placed uniformly over the phase's consumption)",
		Head: []string{"strategy", "interval", "crashes", "replay p25 / p50 / p75", "model W/4 / W/2 / 3W/4", "mean (model W/2)", "max (W)", "processed since the last commit, mean"}}
	for _, pt := range p.Points {
		c := pt.Crash
		if c == nil || c.Kills == 0 {
			continue
		}
		w := pt.Window()
		q := c.ReplayQuartiles
		since := "–"
		if c.SinceCommitN > 0 {
			since = fmt.Sprintf("%s (%d kills)", plot.Human(c.SinceCommitMean), c.SinceCommitN)
		}
		t.Rows = append(t.Rows, []string{pt.Series, pt.Label(), fmt.Sprint(c.Kills),
			fmt.Sprintf("%s / %s / %s", plot.Human(q[0]), plot.Human(q[1]), plot.Human(q[2])),
			fmt.Sprintf("%s / %s / %s", plot.Human(w/4), plot.Human(w/2), plot.Human(3*w/4)),
			fmt.Sprintf("%s (%s)", plot.Human(c.ReplayMean), plot.Human(w/2)),
			fmt.Sprintf("%s (%s)", plot.Human(float64(c.ReplayMax)), plot.Human(w)), since})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	t.Notes = append(t.Notes, "Strategies that commit before processing (at-most-once) or whose effects land once (the exactly-once family, replay absorbed) are shown against the same model; replay under at-most-once should be 0.",
		"With few crashes the quartiles are coarse: the crash count is beside every row.")
	return t
}

// scenarioTable shows what each event cost each group set-up, from the
// one cell summary.
func scenarioTable(p model.Panel) *Table {
	t := &Table{Caption: "Consumer groups: what each event cost (per event; counts from the shared ledger)",
		Head: []string{"strategy", "interval", "group", "members", "events", "duplicates per event (max)", "rebalance ms", "partition gap sum / max ms", "moved", "rejected commits", "zombie records", "lost"}}
	for _, pt := range p.Points {
		s := pt.Scenario
		if s == nil {
			continue
		}
		rejected := table.Counts(s.Rejected)
		t.Rows = append(t.Rows, []string{pt.Strategy, pt.Label(), s.Group, fmt.Sprint(s.Members), fmt.Sprintf("%s (n=%d)", strings.Join(s.Events, "+"), s.DupPerEvent.N),
			fmt.Sprintf("%s (%s)", stat(s.DupPerEvent, "%.0f"), plot.Human(s.DupPerEvent.Max)), stat(s.RebalanceMs, "%.0f"),
			fmt.Sprintf("%s / %s", stat(s.GapSumMs, "%.0f"), plot.Human(s.GapMaxMs.Max)), stat(s.Moved, "%.1f"), rejected, stat(s.Zombie, "%.0f"), fmt.Sprint(s.Lost)})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	t.Notes = append(t.Notes, "The throughput columns above are one consumer alone; the group's members consume together only in the scenario phase.")
	return t
}

// faultTable shows what each kind of fault cost each cell, from the one
// cell summary.
func faultTable(p model.Panel) *Table {
	t := &Table{Caption: "Faults: what each kind cost (per fault; lost is the whole scenario's)",
		Head: []string{"strategy", "interval", "group", "fault", "replayed", "no progress ms (max)", "recovery ms", "injected errors / leaders moved", "failed commit attempts", "members failed, restarted", "lost"}}
	for _, pt := range p.Points {
		s := pt.Scenario
		if s == nil {
			continue
		}
		for _, f := range s.Faults {
			t.Rows = append(t.Rows, []string{pt.Strategy, pt.Label(), s.Group, fmt.Sprintf("%s (n=%d)", f.Label(), f.NoProgressMs.N), stat(f.Replayed, "%.0f"),
				fmt.Sprintf("%s (%s)", stat(f.NoProgressMs, "%.0f"), plot.Human(f.NoProgressMs.Max)), stat(f.RecoveryMs, "%.0f"), f.Did(), table.Counts(f.Surfaced), fmt.Sprint(f.MembersFailed), fmt.Sprint(s.Lost)})
		}
	}
	if len(t.Rows) == 0 {
		return nil
	}
	t.Notes = append(t.Notes, "Failed commit attempts are those the client reported (NETWORK: no connection; a member retries a synchronous commit for up to its session timeout); injected errors the client did not report, it retried. A member that gave up in a fault's window (a transactional End failing, as franz-go advises) was restarted by the harness.")
	return t
}

func stat(s summary.Stat, format string) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf(format, s.Mean)
}

func latency(l metrics.Latency, qs ...summary.Quantile) string {
	if l.Count == 0 {
		return "–"
	}
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = summary.Micros(l, q)
	}
	return strings.Join(parts, " / ")
}

func crashCount(pt model.CurvePoint) string {
	if pt.Crash == nil {
		return "–"
	}
	return fmt.Sprint(pt.Crash.Kills)
}

// percent prints a signed share, without the "-0%" of tiny negatives.
func percent(v float64) string {
	if math.Abs(v) < 0.005 {
		return "0%"
	}
	return fmt.Sprintf("%+.0f%%", 100*v)
}

func rate(s summary.Stat) string {
	if s.N > 1 {
		return fmt.Sprintf("%s ± %s", plot.Human(s.Mean), plot.Human(s.SD))
	}
	return plot.Human(s.Mean)
}

func records(v float64) string {
	if math.IsInf(v, 1) {
		return "no commit"
	}
	return plot.Human(v)
}

// crashCells are the replay and loss cells, with the claimed bounds.
func crashCells(pt model.CurvePoint) [2]string {
	c := pt.Crash
	if c == nil {
		return [2]string{"not run", "not run"}
	}
	if c.Kills == 0 {
		return [2]string{"no kill landed", "no kill landed"}
	}
	replay := fmt.Sprintf("%s / %s", plot.Human(c.ReplayMean), plot.Human(float64(c.ReplayMax)))
	if c.ReplayBound != nil {
		replay += " (bound " + plot.Human(float64(*c.ReplayBound)) + ")"
	}
	loss := plot.Human(float64(c.LossMax))
	if c.LossBound != nil {
		loss += " (bound " + plot.Human(float64(*c.LossBound)) + ")"
	}
	return [2]string{replay, loss}
}

func fitTable(p model.Panel) *Table {
	t := &Table{Caption: "Cost model: throughput ≈ 1/(p + c/N), least squares of 1/throughput on 1/N over every repetition",
		Head: []string{"strategy", "p (µs/record)", "c (µs/commit)", "model ceiling 1/p (records/s)", "R²", "points", "largest residual"}}
	for _, s := range p.Strategies() {
		f, ok := p.Fits[s]
		if !ok {
			t.Notes = append(t.Notes, fmt.Sprintf("%s: no fit: %v", s, p.FitErrors[s]))
			continue
		}
		worst := 0.0
		for _, pt := range p.Points {
			if pt.Strategy == s {
				if d := f.Deviation(pt.RecordsPerCommit, pt.Throughput.Mean); math.Abs(d) > math.Abs(worst) {
					worst = d
				}
			}
		}
		t.Rows = append(t.Rows, []string{s, fmt.Sprintf("%.3f", f.PerRecordS*1e6), fmt.Sprintf("%.1f", f.PerCommitS*1e6),
			plot.Human(f.Ceiling()), fmt.Sprintf("%.3f", f.R2), fmt.Sprint(f.Observations), percent(worst)})
	}
	for _, c := range p.Ceiling {
		t.Notes = append(t.Notes, fmt.Sprintf("measured ceiling (%s, never commits): %s records/s", c.Strategy, plot.Human(c.Throughput.Mean)))
	}
	t.Notes = append(t.Notes, "N is the records consumed per commit made (records ÷ commits), which also places time intervals and coalesced async commits on the curve.")
	return t
}

func farOff(p model.Panel) []string {
	var out []string
	for _, pt := range p.Points {
		if pt.FarOff() {
			out = append(out, fmt.Sprintf("%s at %s: measured %s records/s, the strategy's other points predict %s (%+.0f%%)",
				pt.Series, pt.Label(), plot.Human(pt.Throughput.Mean), plot.Human(pt.Expected), 100*pt.Deviation))
		}
	}
	return out
}

func claimTable(p model.Panel) *Table {
	t := &Table{Caption: fmt.Sprintf("The claim: batched commits (10,000 records / 60 s) give %.0f–%.0f%% more throughput than frequent ones (100 records / 5 s)",
		100*model.ClaimGainLow, 100*model.ClaimGainHigh),
		Head: []string{"strategy", "compared", "frequent (records/s)", "batched (records/s)", "measured gain", "within the claim"}}
	for _, c := range p.CheckClaim() {
		label := plot.Human
		if c.Axis == model.AxisTime {
			label = plot.Seconds
		}
		compared := c.Frequent.Label() + " vs " + c.Batched.Label()
		if !c.Exact {
			compared += fmt.Sprintf(" (nearest measured to %s vs %s)", label(c.ClaimFrequent), label(c.ClaimBatched))
		}
		within := "no"
		if c.Within() {
			within = "yes"
		}
		t.Rows = append(t.Rows, []string{c.Strategy, compared, plot.Human(c.Frequent.Throughput.Mean),
			plot.Human(c.Batched.Throughput.Mean), fmt.Sprintf("%+.1f%%", 100*c.Gain), within})
	}
	if len(t.Rows) == 0 {
		t.Notes = append(t.Notes, "no strategy was measured at two or more intervals of one kind")
	}
	t.Notes = append(t.Notes, claimModel(p)...)
	return t
}

// claimModel says, from the cost model, where the claim holds for this
// cluster and what the batched interval's replay costs: the claim map's
// reading at the run's own fitted costs.
func claimModel(p model.Panel) []string {
	name, f, ok := p.ReferenceFit()
	if !ok {
		return []string{"No strategy's cost model was fitted (see the cost model), so where the claim holds for this cluster is unknown; the claim map shows the model's gain at every p and c."}
	}
	r := model.ClaimRangeAt(f.PerCommitS)
	where := fmt.Sprintf("the claim's %.0f–%.0f %% gain holds for no per-record work", 100*model.ClaimGainLow, 100*model.ClaimGainHigh)
	if r.Holds {
		where = fmt.Sprintf("the claim's %.0f–%.0f %% gain holds for per-record work between %s and %s", 100*model.ClaimGainLow, 100*model.ClaimGainHigh, plot.Seconds(r.From), plot.Seconds(r.To))
	}
	n := f.RecordsPerCommitAt(model.ClaimBatched)
	fires := "the count fires first"
	if n < model.ClaimBatched.Records {
		fires = fmt.Sprintf("the %g s timer fires first", model.ClaimBatched.Seconds)
	}
	return []string{
		fmt.Sprintf("Model: at this cluster's fitted commit cost c = %s (%s), %s; at its fitted p = %s the model predicts %+.0f %% (claim map figure).",
			plot.Seconds(f.PerCommitS), name, where, plot.Seconds(f.PerRecordS), 100*f.ClaimGain()),
		fmt.Sprintf("The price: at that p and c, %s commits every %s records (%s), so a crash replays about %s records on average (N/2), against %s for %s.",
			model.ClaimBatched, plot.Human(n), fires, plot.Human(f.ReplayAt(model.ClaimBatched)), plot.Human(f.ReplayAt(model.ClaimFrequent)), model.ClaimFrequent),
	}
}

func violations(p model.Panel) []string {
	var out []string
	for _, pt := range append(append([]model.CurvePoint(nil), p.Ceiling...), p.Points...) {
		for _, r := range pt.Reps {
			for _, b := range results.Check(r) {
				out = append(out, fmt.Sprintf("%s repetition %d: %s", r.Key, r.Repetition, b.Detail))
			}
		}
	}
	return out
}
