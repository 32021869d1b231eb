package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/metrics"
)

// BareResult is what a bare consumer loop measured: the same steady window
// as the harness (from the record that ends the warm-up to the last
// record), on the same monotonic clock of its own process.
type BareResult struct {
	Records         int64   `json:"records"`
	MeasuredRecords int64   `json:"measured_records"`
	MeasuredSeconds float64 `json:"measured_s"`
	RecordsPerSec   float64 `json:"records_per_s"`
	Commits         int64   `json:"commits"`
	// CommitLatency is the commit call inside the window.
	CommitLatency metrics.Latency `json:"commit_latency"`
}

// RunBare consumes cfg's topic with a plain franz-go loop: the same client
// settings, group and commit interval as a worker, but no ledger, no
// events, no trigger object — what a careful user would write. It commits
// every cfg.Interval.Records records (0: never) with the same call the
// harness makes, and writes one BareResult as JSON to out at the end.
// It measures what the harness itself costs (commitbench anchor).
func RunBare(ctx context.Context, cfg Config, warmup int64, out io.Writer) error {
	base, err := ClientOpts(cfg)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(append(base, GroupOpts(cfg)...), kgo.DisableAutoCommit())...)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	defer cl.Close()
	n := int32(0)
	for p := range cfg.End {
		n = max(n, p+1)
	}
	next, end := make([]int64, n), make([]int64, n)
	remaining := 0
	for p, e := range cfg.End {
		end[p] = e
		if e > 0 {
			remaining++
		}
	}
	every := cfg.Interval.Records
	spin := work(cfg.Processing)
	h := metrics.NewHistogram()
	var res BareResult
	var from, to time.Time
	commit := func() error {
		took, err := commitPositions(ctx, cl, cfg.Topic, next)
		if err != nil {
			return err
		}
		if !from.IsZero() && to.IsZero() { // inside the window, as the harness counts
			metrics.Record(h, took)
			res.Commits++
		}
		return nil
	}
	for remaining > 0 {
		fs := cl.PollRecords(ctx, cfg.Client.MaxPollRecords)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := consume.FetchErr(fs); err != nil {
			return err
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if spin != nil {
				spin()
			}
			res.Records++
			if res.Records == warmup {
				from = time.Now()
			}
			o := r.Offset + 1
			if next[r.Partition] < end[r.Partition] && o >= end[r.Partition] {
				remaining--
				if remaining == 0 {
					to = time.Now()
				}
			}
			next[r.Partition] = max(next[r.Partition], o)
			if every > 0 && res.Records%every == 0 {
				if err := commit(); err != nil {
					return err
				}
			}
		}
	}
	if from.IsZero() || !to.After(from) {
		return fmt.Errorf("bare loop: the run after %d warm-up records was too short to measure", warmup)
	}
	res.MeasuredRecords = res.Records - warmup
	res.MeasuredSeconds = to.Sub(from).Seconds()
	res.RecordsPerSec = float64(res.MeasuredRecords) / res.MeasuredSeconds
	res.CommitLatency = metrics.Summarize(h)
	return json.NewEncoder(out).Encode(res)
}

// commitPositions commits the next offset of every partition that moved,
// as the harness's sync strategy does, and returns how long the call took.
func commitPositions(ctx context.Context, cl *kgo.Client, topic string, next []int64) (time.Duration, error) {
	offsets := make(map[int32]kgo.EpochOffset, len(next))
	for p, o := range next {
		if o > 0 {
			offsets[int32(p)] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	start := time.Now()
	var cerr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: offsets}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = consume.CommitErr(resp, err)
	})
	if cerr != nil {
		return 0, fmt.Errorf("commit: %w", cerr)
	}
	return time.Since(start), nil
}
