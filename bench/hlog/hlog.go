// Package hlog writes a run's latency histograms as HdrHistogram log
// files (.hlog), the format HistogramLogAnalyzer and every HdrHistogram
// log reader read: one file per result, holding the commit call's
// histogram (tag "commit") and the commit request's on the wire (tag
// "wire"), values in nanoseconds.
package hlog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
)

// Ext is the files' extension.
const Ext = ".hlog"

// The tags of a file's histograms.
const (
	TagCommit = "commit"
	TagWire   = "wire"
)

// FileName is the file a result's histograms go to: its key and
// repetition, with path separators as "_" and anything else outside
// [A-Za-z0-9._-] as "-", e.g. quick_at-least-once-sync_1000rec-50ms.rep1.hlog.
func FileName(r results.Result) string {
	name := strings.Map(func(c rune) rune {
		switch {
		case c == '/':
			return '_'
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			return c
		}
		return '-'
	}, r.Key)
	return strings.TrimLeft(name, ".") + fmt.Sprintf(".rep%d", r.Repetition) + Ext
}

// histograms are a result's non-empty histograms by tag, in file order.
func histograms(r results.Result) ([]*hdrhistogram.Histogram, error) {
	var out []*hdrhistogram.Histogram
	for _, h := range []struct{ tag, enc string }{
		{TagCommit, r.Throughput.CommitLatencyHist},
		{TagWire, r.Throughput.WireCommitLatencyHist},
	} {
		if h.enc == "" {
			continue
		}
		d, err := metrics.Decode(h.enc)
		if err != nil {
			return nil, fmt.Errorf("%s repetition %d: %s latency: %w", r.Key, r.Repetition, h.tag, err)
		}
		d.SetTag(h.tag)
		out = append(out, d)
	}
	return out, nil
}

// Write writes r's histograms to w as a log. The histograms cover the
// throughput phase's measured window; each is stamped with the result's
// start and the phase's wall time, relative to a base time of the start
// (which the log records). It returns how many histograms it wrote.
func Write(w io.Writer, r results.Result) (int, error) {
	hs, err := histograms(r)
	if err != nil || len(hs) == 0 {
		return 0, err
	}
	var startMs int64
	if t, err := time.Parse(time.RFC3339, r.StartedAt); err == nil {
		startMs = t.UnixMilli()
	}
	lw := hdrhistogram.NewHistogramLogWriter(w)
	lw.SetBaseTime(startMs)
	for _, line := range []func() error{
		func() error {
			return lw.OutputComment(fmt.Sprintf("commitbench %s repetition %d, run %s: commit latency in ns (tag %s: the commit call; %s: the request on the wire)",
				r.Key, r.Repetition, r.RunID, TagCommit, TagWire))
		},
		lw.OutputLogFormatVersion,
		func() error { return lw.OutputStartTime(startMs) },
		func() error { return lw.OutputBaseTime(startMs) },
		lw.OutputLegend,
	} {
		if err := line(); err != nil {
			return 0, fmt.Errorf("writing the log of %s: %w", r.Key, err)
		}
	}
	endMs := startMs + int64(r.Throughput.WallSeconds*1000)
	for _, h := range hs {
		h.SetStartTimeMs(startMs)
		h.SetEndTimeMs(endMs)
		if err := lw.OutputIntervalHistogram(h); err != nil {
			return 0, fmt.Errorf("writing the %s histogram of %s: %w", h.Tag(), r.Key, err)
		}
	}
	return len(hs), nil
}

// Export writes one log per result that holds a latency histogram into
// dir (created if need be), each atomically, and returns the paths
// written and how many results held none (a strategy that never commits).
func Export(dir string, rs []results.Result) (paths []string, empty int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("creating the hlog directory: %w", err)
	}
	from := map[string]string{} // file name → the key that took it
	for _, r := range rs {
		name := FileName(r)
		if k, taken := from[name]; taken {
			return paths, empty, fmt.Errorf("results %s and %s (repetition %d) both map to %s: export each run into a directory of its own", k, r.Key, r.Repetition, name)
		}
		from[name] = r.Key
		var b bytes.Buffer
		n, err := Write(&b, r)
		if err != nil {
			return paths, empty, err
		}
		if n == 0 {
			empty++
			continue
		}
		path := filepath.Join(dir, name)
		if err := results.WriteFileAtomic(path, b.Bytes()); err != nil {
			return paths, empty, err
		}
		paths = append(paths, path)
	}
	return paths, empty, nil
}
