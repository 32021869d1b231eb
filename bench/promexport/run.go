package promexport

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
)

// Run follows a `commitbench run` (it is a sweep.Observer) and keeps its
// metrics: progress as it goes, and each finished point's figures labelled
// by workload, strategy and interval.
type Run struct {
	planned, finished   prometheus.Gauge
	current             *current
	consumed, records   prometheus.Gauge
	throughput, commits *prometheus.GaugeVec
	latency, wire       *latencies
	replay              *prometheus.HistogramVec
	lost, violations    *prometheus.CounterVec
}

// pointLabels label every finished point's figures.
var pointLabels = []string{"workload", "strategy", "interval"}

// NewRun registers a run's metrics with reg.
func NewRun(reg prometheus.Registerer) *Run {
	r := &Run{
		planned:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_points_planned", Help: "Points the run plans."}),
		finished: prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_points_finished", Help: "Points finished and saved to results."}),
		current:  newCurrent("commitbench_current_point", "The point running now (value: its repetition); phase is throughput or crash.", "key", "phase"),
		consumed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_current_point_records_consumed",
			Help: "Effects applied so far in the current point's phase (replays included)."}),
		records: prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_current_point_records", Help: "Records in the current point's topic."}),
		throughput: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "commitbench_throughput_records_per_second",
			Help: "Steady-state throughput of the last finished point of each cell."}, pointLabels),
		commits: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "commitbench_commits_per_second",
			Help: "Commit rate inside the measured window of the last finished point of each cell."}, pointLabels),
		latency: newLatencies("commitbench_commit_latency_seconds",
			"Commit call latency of the last finished point of each cell (HdrHistogram; p99 only with 100 samples, p99.9 with 1000).", pointLabels...),
		wire: newLatencies("commitbench_wire_commit_latency_seconds",
			"Commit request latency on the wire of the last finished point of each cell.", pointLabels...),
		replay: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "commitbench_replayed_records",
			Help: "Records replayed per crash, every crash of every finished point.", Buckets: prometheus.ExponentialBuckets(1, 10, 7)}, pointLabels),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "commitbench_lost_records_total",
			Help: "Records never applied, over the finished points' crash phases."}, pointLabels),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "commitbench_violations_total",
			Help: "Breaches of a strategy's claim in finished points."}, pointLabels),
	}
	reg.MustRegister(r.planned, r.finished, r.current, r.consumed, r.records, r.throughput, r.commits, r.latency, r.wire, r.replay, r.lost, r.violations)
	return r
}

// Planned says how many points the run plans.
func (r *Run) Planned(points int) { r.planned.Set(float64(points)) }

// Point says a point starts.
func (r *Run) Point(p spec.Point) {
	r.current.set(float64(p.Repetition), p.Key, "starting")
	r.consumed.Set(0)
}

// Event reports progress within the point.
func (r *Run) Event(e runner.Event) {
	r.current.set(float64(e.Point.Repetition), e.Point.Key, e.Phase)
	r.consumed.Set(float64(e.Applied))
	r.records.Set(float64(e.Records))
}

// Finished takes a saved point's figures.
func (r *Run) Finished(res results.Result) {
	r.finished.Inc()
	l := []string{res.Workload, res.Strategy, res.Interval.String()}
	t := res.Throughput
	r.throughput.WithLabelValues(l...).Set(t.RecordsPerSec)
	r.commits.WithLabelValues(l...).Set(t.CommitsPerSec)
	r.latency.set(t.CommitLatency, l...)
	r.wire.set(t.WireCommitLatency, l...)
	r.lost.WithLabelValues(l...)
	r.violations.WithLabelValues(l...).Add(float64(len(res.Violations)))
	if c := res.Crash; c != nil {
		for _, n := range c.ReplayPerCrash {
			r.replay.WithLabelValues(l...).Observe(float64(n))
		}
		r.lost.WithLabelValues(l...).Add(float64(c.Lost))
	}
}
