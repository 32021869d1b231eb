package promexport

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/commitbench/commitbench/bench/results"
)

// Capacity follows a `commitbench capacity` sweep (it is a
// capacity.Observer) and keeps its metrics: progress, the current step's
// commits as they go, and every finished step's figures labelled by series
// and target rate.
type Capacity struct {
	planned, finished prometheus.Gauge
	target            *current
	sent, achieved    *prometheus.GaugeVec
	failed            *prometheus.GaugeVec
	intended, service *latencies

	mu   sync.Mutex
	live func() (sent, answered, failed int64)
}

var stepLabels = []string{"series", "target_per_s"}

// NewCapacity registers a capacity sweep's metrics with reg.
func NewCapacity(reg prometheus.Registerer) *Capacity {
	c := &Capacity{
		planned:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_capacity_steps_planned", Help: "Steps the capacity sweep plans."}),
		finished: prometheus.NewGauge(prometheus.GaugeOpts{Name: "commitbench_capacity_steps_finished", Help: "Steps finished and saved to results."}),
		target:   newCurrent("commitbench_capacity_current_step_target_commits_per_second", "Target aggregate commit rate of the step running now.", "series"),
		sent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "commitbench_capacity_sent_per_second",
			Help: "Commits sent per second inside each finished step's window."}, stepLabels),
		achieved: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "commitbench_capacity_commits_per_second",
			Help: "Commits answered without error per second inside each finished step's window."}, stepLabels),
		failed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "commitbench_capacity_failed_commits",
			Help: "Failed commits of each finished step, by error."}, append(stepLabels, "error")),
		intended: newLatencies("commitbench_capacity_intended_latency_seconds",
			"Commit latency from the intended send time, each finished step (p99 only with 100 samples, p99.9 with 1000).", stepLabels...),
		service: newLatencies("commitbench_capacity_service_latency_seconds",
			"Commit latency from the actual send time, each finished step.", stepLabels...),
	}
	current := prometheus.NewDesc("commitbench_capacity_current_step_commits",
		"Commits of the step running now, by outcome: sent (and finished), answered, failed.", []string{"outcome"}, nil)
	reg.MustRegister(c.planned, c.finished, c.target, c.sent, c.achieved, c.failed, c.intended, c.service,
		collectorFunc{desc: current, collect: func(ch chan<- prometheus.Metric) {
			c.mu.Lock()
			live := c.live
			c.mu.Unlock()
			if live == nil {
				return
			}
			s, a, f := live()
			for outcome, v := range map[string]int64{"sent": s, "answered": a, "failed": f} {
				ch <- prometheus.MustNewConstMetric(current, prometheus.GaugeValue, float64(v), outcome)
			}
		}})
	return c
}

// Planned says how many steps the sweep plans.
func (c *Capacity) Planned(steps int) { c.planned.Set(float64(steps)) }

// StepStarted says a step starts; live is read at every scrape.
func (c *Capacity) StepStarted(series string, _ int, targetPerSec float64, live func() (sent, answered, failed int64)) {
	c.target.set(targetPerSec, series)
	c.mu.Lock()
	c.live = live
	c.mu.Unlock()
}

// StepFinished takes a finished step's figures.
func (c *Capacity) StepFinished(s results.CapacityStep) {
	c.finished.Inc()
	l := []string{s.Series, strconv.FormatFloat(s.TargetCommitsPerSec, 'g', -1, 64)}
	c.sent.WithLabelValues(l...).Set(s.SentPerSec)
	c.achieved.WithLabelValues(l...).Set(s.CommitsPerSec)
	for name, n := range s.FailedByError {
		c.failed.WithLabelValues(append(l, name)...).Set(float64(n))
	}
	c.intended.set(s.IntendedLatency, l...)
	c.service.set(s.ServiceLatency, l...)
}

// collectorFunc is a collector of one metric computed at each scrape.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// current is a gauge of one series at a time, whose labels change with its
// value in one step (a GaugeVec's Reset and Set would show a scrape
// between them nothing).
type current struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	labels []string
	v      float64
}

func newCurrent(name, help string, labels ...string) *current {
	return &current{desc: prometheus.NewDesc(name, help, labels, nil)}
}

func (c *current) set(v float64, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.v, c.labels = v, labels
}

// Describe implements prometheus.Collector.
func (c *current) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *current) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.labels != nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.v, c.labels...)
	}
}
