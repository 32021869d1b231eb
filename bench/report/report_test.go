package report

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/model"
	"github.com/commitbench/commitbench/bench/plot"
	"github.com/commitbench/commitbench/bench/results"
)

func fixture(t *testing.T) []results.Result {
	t.Helper()
	rs, err := results.Read(filepath.Join("..", "plot", "testdata", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestWriteFromFixture(t *testing.T) {
	dir := t.TempDir()
	paths, err := Write(dir, fixture(t), PlanSettings{Budget: model.Budget{DupRecords: 5000, Rate: 2e6}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, HTMLFile), filepath.Join(dir, MarkdownFile)}; strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("wrote %v, want %v", paths, want)
	}
	page := read(t, paths[0])
	md := read(t, paths[1])

	for _, want := range []string{"<!DOCTYPE html>", "</html>", "Environment", "embedded kfake", "go1.26.8",
		"static membership true", "Cost model", "Capacity plan", "at-least-once-sync at 1000rec"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Figures are inline and decode as PNG; nothing is linked from outside.
	// html/template writes '+' as an entity, which browsers decode.
	imgs := regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(imgs) < 10 {
		t.Fatalf("report.html inlines %d figures, want every figure (at least 10)", len(imgs))
	}
	for _, m := range imgs {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("an inline figure is not a PNG: %v", err)
		}
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("html/template rejected a value (ZgotmplZ in the page)")
	}

	for _, s := range []string{"none", "at-most-once", "at-least-once-sync", "at-least-once-async", "autocommit"} {
		if !strings.Contains(md, "| "+s+" |") {
			t.Errorf("report.md has no table row for %s", s)
		}
	}
	for _, want := range []string{"1000rec\\|100ms", "100rec vs 10000rec", "(nearest measured to 5s vs 1m)", "| at-least-once-sync | count | 1000rec |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// Without a budget or a rate the report still plans, on defaults it
// names together with the flags that change them.
func TestDefaultPlanSaysItIsDefault(t *testing.T) {
	r, err := Build(fixture(t), DefaultPlan(), false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"Capacity plan", "at most 1k records replayed per crash (the default; --dup-budget-records N",
		"% of the measured ceiling (none, never commits) (a default; --rate R plans for another)",
		"coordinator capacity not measured (run commitbench capacity"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The default rate is half the mean of the none repetitions.
	var sum float64
	var n int
	for _, res := range fixture(t) {
		if res.Strategy == "none" {
			sum += res.Throughput.RecordsPerSec
			n++
		}
	}
	want := "Rate: " + plot.Human(sum/float64(n)/2) + " records/s, 50 % of the measured ceiling"
	if c := r.Panels[0].Plan.Caption; !strings.Contains(c, want) {
		t.Errorf("the plan's caption lacks %q: %s", want, c)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The load table sets the broker's cost per commit beside throughput, and
// says where few repetitions stand behind a figure.
func TestLoadTableShowsBrokerCostAndFewSamples(t *testing.T) {
	rs, err := results.Read(filepath.Join("..", "plot", "testdata", "local", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(rs, DefaultPlan(), false)
	if err != nil {
		t.Fatal(err)
	}
	load := r.Panels[0].Load
	col := map[string]int{}
	for i, h := range load.Head {
		col[h] = i
	}
	rows := 0
	for _, row := range load.Rows {
		cpu, bytes := row[col["broker CPU per 1,000 commits (s)"]], row[col["__consumer_offsets bytes per commit"]]
		if row[col["throughput (records/s)"]] == "" {
			t.Errorf("%s %s: no throughput beside the load", row[0], row[1])
		}
		if row[0] == "none" {
			if cpu != "–" || bytes != "–" {
				t.Errorf("none never commits, yet costs %s / %s per commit", cpu, bytes)
			}
			continue
		}
		partial := row[0] == "at-least-once-sync" && row[1] == "1000rec"
		if got := strings.HasSuffix(cpu, "(n=2)"); got != partial {
			t.Errorf("%s %s: broker CPU per 1,000 commits %q (want a sample count only on the cell one repetition missed)", row[0], row[1], cpu)
		}
		if bytes == "–" || strings.Contains(bytes, "n=") {
			t.Errorf("%s %s: offsets bytes per commit %q, want a figure from 3 repetitions", row[0], row[1], bytes)
		}
		rows++
	}
	if rows == 0 {
		t.Fatal("no committing rows in the load table")
	}
}

// The claim section says in words where the claim holds at this
// cluster's fitted commit cost, and what batching costs in replay.
func TestClaimSaysWhereItHolds(t *testing.T) {
	r, err := Build(fixture(t), DefaultPlan(), false)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Panels[0]
	notes := strings.Join(p.Claim.Notes, "\n")
	for _, want := range []string{"fitted commit cost c = ", "gain holds for per-record work between ", "the model predicts +",
		"a crash replays about 5k records on average (N/2), against 50 for 100 records or 5 s"} {
		if !strings.Contains(notes, want) {
			t.Errorf("the claim's notes lack %q:\n%s", want, notes)
		}
	}
	// Without a single fit the sentence says what is unknown, not a number.
	var flat []results.Result
	for _, res := range fixture(t) {
		if res.Strategy == "none" || res.Repetition == 1 && res.Interval.Records == 100 && res.Interval.Every == 0 {
			flat = append(flat, res)
		}
	}
	r, err = Build(flat, DefaultPlan(), false)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(r.Panels[0].Claim.Notes, "\n"); !strings.Contains(notes, "is unknown") || strings.Contains(notes, "c = ") {
		t.Errorf("with no fit the claim's notes say:\n%s", notes)
	}
}
