package summary

import (
	"os/exec"
	"strings"
	"testing"
)

// The analysis wing reads JSON lines: it must never link a Kafka client, a
// database driver, a container library or a browser. The ground floor
// links none of them either.
func TestAnalysisLinksNoMeasurementSide(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list imports with")
	}
	pkgs := []string{"cluster", "strategy", "spec", "results", "metrics", "summary", "table", "model", "plot", "report", "gate", "hlog"}
	// A browser stays out too: the report's screenshot lives in
	// bench/report/browser, which only the command links.
	forbidden := []string{"github.com/twmb/franz-go", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/testcontainers", "github.com/chromedp",
		"github.com/commitbench/commitbench/bench/broker", "github.com/commitbench/commitbench/bench/runner",
		"github.com/commitbench/commitbench/bench/consume", "github.com/commitbench/commitbench/bench/sink"}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-deps", "github.com/commitbench/commitbench/bench/"+p).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", p, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("bench/%s links %s", p, dep)
				}
			}
		}
	}
}
