package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/report/browser"
)

// report plans capacity with no flags, on defaults it names; a budget in
// seconds alone replaces the default budget in records.
func TestReportPlansByDefault(t *testing.T) {
	for _, k := range []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"defaults", nil,
			[]string{"Capacity plan:", "at most 1k records replayed per crash (the default", "50 % of the measured ceiling", "coordinator capacity not measured"},
			nil},
		{"seconds only", []string{"--dup-budget-seconds", "0.01", "--rate", "1e6", "--coordinator-commits-per-sec", "5000"},
			[]string{"at most 10ms of traffic replayed per crash", "a required rate of 1M records/s", "a coordinator that sustains 5k commits/s", "% of its 5k/s"},
			[]string{"records replayed per crash", "(the default"}},
	} {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := commitbench(append(append([]string{"report", "-o", dir}, k.args...), fixtureDir)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			md, err := os.ReadFile(filepath.Join(dir, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range k.want {
				if !strings.Contains(string(md), w) {
					t.Errorf("report.md lacks %q", w)
				}
			}
			for _, w := range k.notWant {
				if strings.Contains(string(md), w) {
					t.Errorf("report.md says %q", w)
				}
			}
		})
	}
}

// report --screenshot saves the page as Chromium shows it beside the
// report, once every figure loaded.
func TestReportScreenshot(t *testing.T) {
	if _, err := browser.Find(); err != nil {
		if os.Getenv("COMMITBENCH_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("COMMITBENCH_REQUIRE_CHROMIUM=1, but: %v", err)
		}
		t.Skipf("%v (set COMMITBENCH_REQUIRE_CHROMIUM=1 to fail instead)", err)
	}
	dir := t.TempDir()
	out, err := commitbench("report", "--screenshot", "-o", dir, filepath.Join(fixtureDir, "local")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, screenshotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s is not a PNG: %v", screenshotFile, err)
	}
}
