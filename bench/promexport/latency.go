package promexport

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/commitbench/commitbench/bench/metrics"
)

// Sample sizes below which a tail quantile is left out, as every printer
// of commitbench leaves it out: p99 needs 100 samples, p99.9 1,000.
const (
	minSamplesP99  = 100
	minSamplesP999 = 1000
)

// latencies is a summary metric whose every label set holds one measured
// latency (an HdrHistogram's summary), in seconds: its count, its sum
// (mean × count) and the quantiles its sample count supports.
type latencies struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	by   map[string]latencySeries
}

type latencySeries struct {
	labels []string
	l      metrics.Latency
}

func newLatencies(name, help string, labels ...string) *latencies {
	return &latencies{desc: prometheus.NewDesc(name, help, labels, nil), by: map[string]latencySeries{}}
}

// set replaces the latency of one label set.
func (c *latencies) set(l metrics.Latency, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.by[strings.Join(labels, "\x00")] = latencySeries{labels: slices.Clone(labels), l: l}
}

// Describe implements prometheus.Collector.
func (c *latencies) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *latencies) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.by {
		l := s.l
		if l.Count == 0 {
			continue
		}
		q := map[float64]float64{0.5: l.P50Us / 1e6, 0.9: l.P90Us / 1e6}
		if l.Count >= minSamplesP99 {
			q[0.99] = l.P99Us / 1e6
		}
		if l.Count >= minSamplesP999 {
			q[0.999] = l.P999Us / 1e6
		}
		ch <- prometheus.MustNewConstSummary(c.desc, uint64(l.Count), l.MeanUs*float64(l.Count)/1e6, q, s.labels...)
	}
}
