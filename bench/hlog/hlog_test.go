package hlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
)

func fixture(t *testing.T) []results.Result {
	t.Helper()
	rs, err := results.Read(filepath.Join("..", "plot", "testdata", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// Every exported log reads back, with the library's own log reader, into
// the histograms the result encodes: same count, p50, p99 and max, by tag.
func TestExportReadsBackIntoTheResultsHistograms(t *testing.T) {
	rs := fixture(t)
	dir := t.TempDir()
	paths, empty, err := Export(dir, rs)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles, wantEmpty := 0, 0
	for _, r := range rs {
		if r.Throughput.CommitLatencyHist == "" && r.Throughput.WireCommitLatencyHist == "" {
			wantEmpty++
		} else {
			wantFiles++
		}
	}
	if len(paths) != wantFiles || empty != wantEmpty || wantEmpty == 0 {
		t.Fatalf("wrote %d files, %d results without histograms; want %d and %d (the none strategy's)", len(paths), empty, wantFiles, wantEmpty)
	}
	checked := 0
	for _, r := range rs {
		path := filepath.Join(dir, FileName(r))
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && r.Throughput.CommitLatencyHist == "" && r.Throughput.WireCommitLatencyHist == "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got := readLog(t, f)
		f.Close()
		for tag, enc := range map[string]string{TagCommit: r.Throughput.CommitLatencyHist, TagWire: r.Throughput.WireCommitLatencyHist} {
			want, err := metrics.Decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			h, ok := got[tag]
			if enc == "" {
				if ok {
					t.Errorf("%s: a %s histogram for a result without one", path, tag)
				}
				continue
			}
			if !ok {
				t.Errorf("%s: no %s histogram", path, tag)
				continue
			}
			if h.TotalCount() != want.TotalCount() || h.ValueAtQuantile(50) != want.ValueAtQuantile(50) ||
				h.ValueAtQuantile(99) != want.ValueAtQuantile(99) || h.Max() != want.Max() {
				t.Errorf("%s %s: count %d p50 %d p99 %d max %d, the result holds %d %d %d %d", path, tag,
					h.TotalCount(), h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.Max(),
					want.TotalCount(), want.ValueAtQuantile(50), want.ValueAtQuantile(99), want.Max())
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no histogram compared")
	}
}

// readLog reads every interval histogram of a log, by tag.
func readLog(t *testing.T, r io.Reader) map[string]*hdrhistogram.Histogram {
	t.Helper()
	lr := hdrhistogram.NewHistogramLogReader(r)
	out := map[string]*hdrhistogram.Histogram{}
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			return out
		}
		if _, dup := out[h.Tag()]; dup {
			t.Fatalf("two %q histograms in one log", h.Tag())
		}
		out[h.Tag()] = h
	}
}

func TestFileNameIsSafe(t *testing.T) {
	r := results.Result{Key: "../quick/at-least-once-sync/1000rec|50ms", Repetition: 2}
	if got, want := FileName(r), "_quick_at-least-once-sync_1000rec-50ms.rep2.hlog"; got != want {
		t.Errorf("file name %q, want %q", got, want)
	}
}

// Two results that would share a file are refused, not overwritten.
func TestExportRefusesCollisions(t *testing.T) {
	rs := fixture(t)
	var twice []results.Result
	for _, r := range rs {
		if r.Throughput.CommitLatencyHist != "" {
			twice = append(twice, r, r)
			break
		}
	}
	if _, _, err := Export(t.TempDir(), twice); err == nil {
		t.Error("two results with one key and repetition were both exported")
	}
	var b bytes.Buffer
	if n, err := Write(&b, twice[0]); err != nil || n != 2 {
		t.Errorf("wrote %d histograms (%v), want the commit and the wire one", n, err)
	}
}
