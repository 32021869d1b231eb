package summary

import (
	"fmt"
	"math"

	"github.com/commitbench/commitbench/bench/metrics"
)

// Sample sizes below which a tail percentile is not shown as a number: with
// fewer than 100 samples p99 is the largest or second-largest value, and
// with fewer than 1,000 p99.9 is the maximum.
const (
	MinSamplesP99  = 100
	MinSamplesP999 = 1000
)

// Quantile names a latency figure.
type Quantile int

// The latency figures a printer shows.
const (
	P50 Quantile = iota
	P99
	P999
	Max
)

// Value returns the figure in µs and whether the sample count supports it.
func (q Quantile) Value(l metrics.Latency) (float64, bool) {
	switch q {
	case P50:
		return l.P50Us, l.Count > 0
	case P99:
		return l.P99Us, l.Count >= MinSamplesP99
	case P999:
		return l.P999Us, l.Count >= MinSamplesP999
	}
	return l.MaxUs, l.Count > 0
}

// Micros prints a latency figure in µs, "-" without samples, or "n=27"
// where too few samples stand behind a tail percentile. Every printer uses
// it, so a figure never reads as more certain in one place than another.
func Micros(l metrics.Latency, q Quantile) string {
	v, ok := q.Value(l)
	switch {
	case l.Count == 0:
		return "-"
	case !ok:
		return fmt.Sprintf("n=%d", l.Count)
	}
	return fmt.Sprintf("%.0f", v)
}

// Percent prints a share such as OfCeiling, "-" when unknown.
func Percent(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}
