package promexport

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/capacity"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/sweep"
)

var (
	_ sweep.Observer    = (*Run)(nil)
	_ capacity.Observer = (*Capacity)(nil)
)

// serve serves a fresh registry on a free loopback port and returns it
// with a scrape function.
func serve(t *testing.T) (*Run, *Capacity, func() string) {
	t.Helper()
	ln, err := Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); host != "127.0.0.1" {
		t.Errorf("an empty host listens on %s, want loopback", host)
	}
	reg := NewRegistry()
	run, capa := NewRun(reg), NewCapacity(reg)
	srv := Serve(ln, reg)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return run, capa, func() string {
		t.Helper()
		resp, err := http.Get(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape: %d %v", resp.StatusCode, err)
		}
		return string(b)
	}
}

func has(t *testing.T, page string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(page, "\n"+l+"\n") {
			t.Errorf("metrics lack the line %q", l)
		}
	}
}

// The run's metrics follow its progress and take each finished point's
// figures; a tail quantile without the samples to support it is left out.
func TestRunMetrics(t *testing.T) {
	run, _, scrape := serve(t)
	p := spec.Point{Key: "w/at-least-once-sync/1000rec", Strategy: "at-least-once-sync", Interval: spec.Interval{Records: 1000}, Repetition: 2}
	run.Planned(9)
	run.Point(p)
	run.Event(runner.Event{Point: p, Phase: "throughput", Applied: 1234, Records: 20000})
	has(t, scrape(),
		"commitbench_points_planned 9",
		"commitbench_points_finished 0",
		`commitbench_current_point{key="w/at-least-once-sync/1000rec",phase="throughput"} 2`,
		"commitbench_current_point_records_consumed 1234",
		"commitbench_current_point_records 20000",
	)
	run.Finished(results.Result{Workload: "w", Strategy: "at-least-once-sync", Interval: p.Interval,
		Throughput: results.Throughput{RecordsPerSec: 12345.5, CommitsPerSec: 12,
			CommitLatency: metrics.Latency{Count: 20, MeanUs: 500, P50Us: 400, P90Us: 900, P99Us: 2000, P999Us: 2000}},
		Crash:      &results.Crash{ReplayPerCrash: []int64{42, 7}, Lost: 0},
		Violations: []string{"x"},
	})
	l := `{interval="1000rec",strategy="at-least-once-sync",workload="w"}`
	page := scrape()
	has(t, page,
		"commitbench_points_finished 1",
		"commitbench_throughput_records_per_second"+l+" 12345.5",
		"commitbench_commits_per_second"+l+" 12",
		`commitbench_commit_latency_seconds{interval="1000rec",strategy="at-least-once-sync",workload="w",quantile="0.5"} 0.0004`,
		"commitbench_commit_latency_seconds_count"+l+" 20",
		"commitbench_commit_latency_seconds_sum"+l+" 0.01",
		"commitbench_replayed_records_count"+l+" 2",
		"commitbench_replayed_records_sum"+l+" 49",
		"commitbench_lost_records_total"+l+" 0",
		"commitbench_violations_total"+l+" 1",
	)
	if strings.Contains(page, `quantile="0.99"`) {
		t.Error("p99 exported from 20 samples")
	}
}

// A capacity sweep's metrics read the running step's commits at every
// scrape and take each finished step's figures.
func TestCapacityMetrics(t *testing.T) {
	_, capa, scrape := serve(t)
	capa.Planned(6)
	sent := int64(10)
	capa.StepStarted("8 groups × 1 partition", 1, 250, func() (int64, int64, int64) { return sent, 9, 1 })
	has(t, scrape(),
		"commitbench_capacity_steps_planned 6",
		`commitbench_capacity_current_step_target_commits_per_second{series="8 groups × 1 partition"} 250`,
		`commitbench_capacity_current_step_commits{outcome="sent"} 10`,
		`commitbench_capacity_current_step_commits{outcome="failed"} 1`,
	)
	sent = 20
	has(t, scrape(), `commitbench_capacity_current_step_commits{outcome="sent"} 20`)
	capa.StepFinished(results.CapacityStep{Series: "8 groups × 1 partition", TargetCommitsPerSec: 250, SentPerSec: 249, CommitsPerSec: 248,
		FailedByError:   map[string]int64{"NOT_COORDINATOR": 3},
		IntendedLatency: metrics.Latency{Count: 1000, MeanUs: 3000, P50Us: 2800, P90Us: 3500, P99Us: 5000, P999Us: 6000}})
	l := `{series="8 groups × 1 partition",target_per_s="250"}`
	has(t, scrape(),
		"commitbench_capacity_steps_finished 1",
		"commitbench_capacity_sent_per_second"+l+" 249",
		"commitbench_capacity_commits_per_second"+l+" 248",
		`commitbench_capacity_failed_commits{error="NOT_COORDINATOR",series="8 groups × 1 partition",target_per_s="250"} 3`,
		`commitbench_capacity_intended_latency_seconds{series="8 groups × 1 partition",target_per_s="250",quantile="0.999"} 0.006`,
		"commitbench_capacity_intended_latency_seconds_count"+l+" 1000",
	)
}

func TestListenInUse(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(ln.Addr().String()); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("listening twice: %v, want ErrAddrInUse", err)
	}
	if _, err := Listen("9464"); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("a bare port: %v", err)
	}
}
