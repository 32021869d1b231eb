package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/results"
)

func TestWriteFromFixture(t *testing.T) {
	rs, err := results.Read(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := FromResults(rs)
	if err != nil {
		t.Fatal(err)
	}
	figs := set.Figures
	dir := t.TempDir()
	paths, err := Write(dir, figs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2*len(figs) {
		t.Fatalf("wrote %d files for %d figures, want PNG and SVG each", len(paths), len(figs))
	}
	// Count and time intervals have figures of their own; the fixture's
	// four committing strategies each get a latency distribution.
	for _, name := range []string{"throughput-count", "throughput-time", "commit-latency-count", "replay-count",
		"loss-count", "frontier-count", "frontier-time", "latency-distribution-autocommit"} {
		for _, ext := range Formats {
			if _, err := os.Stat(filepath.Join(dir, name+"."+ext)); err != nil {
				t.Errorf("missing figure: %v", err)
			}
		}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".png":
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("%s is not a PNG: %v", p, err)
			}
		case ".svg":
			if err := parseXML(data); err != nil {
				t.Errorf("%s is not well-formed SVG: %v", p, err)
			}
		}
	}
	// Series come from the data: every strategy is named in the legends.
	svg := svgText(t, filepath.Join(dir, "throughput-count.svg"))
	for _, want := range []string{"at-most-once", "at-least-once-sync", "at-least-once-sync (hybrid, ≤100ms)",
		"at-least-once-async", "none (never commits)", "more than 15% off its fit", "interval-sweep", "embedded kfake"} {
		if !strings.Contains(svg, want) {
			t.Errorf("throughput-count.svg does not show %q", want)
		}
	}
	if svg := svgText(t, filepath.Join(dir, "throughput-time.svg")); !strings.Contains(svg, "autocommit") || strings.Contains(svg, "at-most-once") {
		t.Errorf("throughput-time.svg should show autocommit (time-only) and not at-most-once (count-only)")
	}
	// 600 commits at 10,000 records per commit are too few for p99.9:
	// that point is left out of the percentile figure, and it says so.
	if svg := svgText(t, filepath.Join(dir, "commit-latency-count.svg")); !strings.Contains(svg, "points with fewer are left out") {
		t.Errorf("commit-latency-count.svg draws tail percentiles without saying it leaves thin ones out")
	}
	if svg := svgText(t, filepath.Join(dir, "latency-distribution-at-least-once-sync.svg")); !strings.Contains(svg, "99.9%") {
		t.Errorf("the latency distribution has no 99.9%% tick")
	}
}

// The broker's load is drawn where the broker measured it, with the
// sample count beside a point that rests on fewer repetitions; where it
// measured nothing (the embedded broker keeps no __consumer_offsets, and
// the embedded fixture has no CPU either) the figure is left out and a
// note says why.
func TestBrokerLoadFigures(t *testing.T) {
	local, err := results.Read(localFixturePath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := FromResults(local)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(dir, only(set.Figures, "broker-cpu-per-commit-count", "offsets-bytes-per-commit-time")); err != nil {
		t.Fatal(err)
	}
	if len(set.Notes) != 0 {
		t.Errorf("the local fixture measured the broker's load, yet: %v", set.Notes)
	}
	cpu := svgText(t, filepath.Join(dir, "broker-cpu-per-commit-count.svg"))
	for _, want := range []string{"at-least-once-sync", "at-most-once", "broker CPU per 1,000 commits (s) (log scale)", "n=2", "the broker processes"} {
		if !strings.Contains(cpu, want) {
			t.Errorf("broker-cpu-per-commit-count.svg does not show %q", want)
		}
	}
	if strings.Count(cpu, "n=2") != 1 {
		t.Errorf("broker-cpu-per-commit-count.svg marks %d points as resting on 2 samples, want the one partial cell", strings.Count(cpu, "n=2"))
	}
	bytes := svgText(t, filepath.Join(dir, "offsets-bytes-per-commit-time.svg"))
	if !strings.Contains(bytes, "autocommit") || strings.Contains(bytes, "n=") {
		t.Errorf("offsets-bytes-per-commit-time.svg: want autocommit, no sample-count marks (every cell measured 3 times)")
	}

	embedded, err := results.Read(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	set, err = FromResults(embedded)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Figures {
		if strings.HasPrefix(f.Name, "broker-cpu") || strings.HasPrefix(f.Name, "offsets-bytes") {
			t.Errorf("drew %s without a single sample", f.Name)
		}
	}
	if len(set.Notes) != 4 {
		t.Fatalf("notes %q, want one per load figure and axis", set.Notes)
	}
	for _, n := range set.Notes {
		if !strings.Contains(n, "not drawn") || !strings.Contains(n, "N = 0") || !strings.Contains(n, "embedded") {
			t.Errorf("note %q does not say the figure was left out for want of samples", n)
		}
	}
}

func parseXML(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// svgText is the text content of an SVG file's elements.
func svgText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
			b.WriteByte('\n')
		}
	}
}

func TestTickLabels(t *testing.T) {
	for v, want := range map[float64]string{100: "100", 1000: "1k", 1.5e6: "1.5M"} {
		if got := Human(v); got != want {
			t.Errorf("Human(%g) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{0.01: "10ms", 5: "5s", 60: "1m"} {
		if got := Seconds(v); got != want {
			t.Errorf("Seconds(%g) = %q, want %q", v, got, want)
		}
	}
	ticks := percentileTicks().Ticks(1, 1e4)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0% 90% 99% 99.9% 99.99%" {
		t.Errorf("percentile ticks %q", got)
	}
}

// The claim map is drawn for every panel: the band named and outlined in
// the legend, log axes with units on the ticks, the run's own fit marked
// where there is one.
func TestClaimMapFigure(t *testing.T) {
	rs, err := results.Read(localFixturePath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := FromResults(rs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(dir, only(set.Figures, "claim-map")); err != nil {
		t.Fatal(err)
	}
	svg := svgText(t, filepath.Join(dir, "claim-map.svg"))
	for _, want := range []string{"10–30 % (the claim)", "claim's band, outlined", "(log scale)", "1µs", "10ms", "this run's fit (", "model gain there: +", "replay per crash: 5k vs 50 records"} {
		if !strings.Contains(svg, want) {
			t.Errorf("claim-map.svg does not show %q", want)
		}
	}
}

// only keeps the named figures, so a test renders no more than it reads.
func only(figs []Figure, names ...string) []Figure {
	var out []Figure
	for _, f := range figs {
		for _, n := range names {
			if f.Name == n {
				out = append(out, f)
			}
		}
	}
	return out
}
