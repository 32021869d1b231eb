// Package metrics turns raw timings into the figures a result carries:
// latency histograms (HdrHistogram, encoded so later tools can merge them)
// and their percentiles, and steady-state throughput.
package metrics

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 ns to 100 s at three significant digits.
const (
	minNs   = 1
	maxNs   = int64(100 * time.Second)
	sigfigs = 3
)

// NewHistogram returns an empty latency histogram recording nanoseconds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(minNs, maxNs, sigfigs)
}

// Record adds one latency, clamped into the histogram's range.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	v := min(max(int64(d), minNs), maxNs)
	_ = h.RecordValue(v)
}

// Latency is a histogram's summary in microseconds.
type Latency struct {
	Count  int64   `json:"count"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
}

// Summarize returns h's count, mean and percentiles.
func Summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{
		Count:  h.TotalCount(),
		MeanUs: h.Mean() / 1e3,
		P50Us:  us(h.ValueAtQuantile(50)),
		P90Us:  us(h.ValueAtQuantile(90)),
		P99Us:  us(h.ValueAtQuantile(99)),
		P999Us: us(h.ValueAtQuantile(99.9)),
		MaxUs:  us(h.Max()),
	}
}

// Encode returns h in HdrHistogram's compressed, base64 V2 encoding.
func Encode(h *hdrhistogram.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encoding histogram: %w", err)
	}
	return string(b), nil
}

// Decode reverses Encode; an empty string is an empty histogram.
func Decode(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decoding histogram: %w", err)
	}
	return h, nil
}
