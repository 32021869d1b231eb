package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/summary"
	"github.com/commitbench/commitbench/bench/table"
)

// The terminal table and the report read the one cell summary: for every
// cell they show the same throughput, share of the ceiling and commit
// latency percentiles.
func TestTableAndReportShowTheSameFigures(t *testing.T) {
	rs := fixture(t)
	cells, err := summary.Cells(rs)
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	if err := table.Print(&tb, cells); err != nil {
		t.Fatal(err)
	}
	tableRows := map[string][]string{} // strategy + interval → fields
	for _, line := range strings.Split(tb.String(), "\n") {
		f := strings.Fields(line)
		if len(f) > 12 {
			tableRows[f[0]+" "+f[1]] = f
		}
	}
	rep, err := Build(rs, DefaultPlan(), false)
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Panels[0].Measurements
	checked := 0
	for _, row := range m.Rows {
		label := row[1]
		if label == "never commits" {
			label = "-"
		}
		strat := strings.Fields(row[0])[0] // hybrid series carry a suffix
		tr, ok := tableRows[strat+" "+label]
		if !ok {
			t.Errorf("report row %s %s has no table row", row[0], row[1])
			continue
		}
		// Table columns: strategy interval reps records/s ±sd %ceiling
		// commits n p50 p99 p99.9 max …
		if row[4] != tr[5] {
			t.Errorf("%s %s: share of ceiling %s in the report, %s in the table", strat, label, row[4], tr[5])
		}
		if row[7] != "–" {
			lat := strings.Split(row[7], " / ")
			if lat[0] != tr[8] || lat[1] != tr[9] || lat[2] != tr[10] {
				t.Errorf("%s %s: commit p50/p99/p99.9 %v in the report, %v in the table", strat, label, lat, tr[8:11])
			}
			if row[6] != tr[7] {
				t.Errorf("%s %s: %s commits behind the percentiles in the report, %s in the table", strat, label, row[6], tr[7])
			}
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("compared the latency of %d cells, want the fixture's committing cells", checked)
	}
}
