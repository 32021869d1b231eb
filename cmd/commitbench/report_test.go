package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
