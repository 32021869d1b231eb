package runner

import (
	"context"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// throughput runs the crash-free phase: one worker consumes the topic. It
// also returns how long the worker was busy, which plans the crash phase.
func (r *Runner) throughput(ctx context.Context, p spec.Point, strat consume.Strategy) (results.Throughput, time.Duration, error) {
	ph, err := r.newPhase(ctx, p, strat, "tput")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return results.Throughput{}, 0, err
	}
	before := r.load(ctx)
	s, err := start(ctx, r.worker, ph.cfg)
	if err != nil {
		return results.Throughput{}, 0, err
	}
	pr := &proc{s: s, starts: map[int32]int64{}}
	began := time.Now()
	if _, err := r.pump(ctx, ph, pr, -1); err != nil {
		return results.Throughput{}, 0, err
	}
	wall := time.Since(began)
	cpu, offRecords, offBytes := r.load(ctx).since(before)
	eff, err := ph.effects(ctx)
	if err != nil {
		return results.Throughput{}, 0, err
	}
	tally := eff.Tally()
	t := results.Throughput{
		Records:             tally.Records,
		FailedCommits:       ph.failed,
		Commits:             int64(len(ph.commits) + len(ph.autos)),
		WorkerCPUSeconds:    s.cpuSeconds(),
		BrokerCPUSeconds:    cpu,
		OffsetsTopicRecords: offRecords,
		OffsetsTopicBytes:   offBytes,
		WallSeconds:         wall.Seconds(),
		Lost:                tally.Lost,
		Duplicates:          tally.Duplicates,
	}
	from, to, err := steadyWindow(ph.progress, r.w.WarmupRecords)
	if err != nil {
		return t, 0, err
	}
	secs := float64(to.at-from.at) / 1e9
	t.MeasuredRecords = to.v - from.v
	t.MeasuredSeconds = secs
	t.RecordsPerSec = float64(t.MeasuredRecords) / secs
	call, wire := metrics.NewHistogram(), metrics.NewHistogram()
	inWindow := func(ss []sample, h *hdrhistogram.Histogram) (n int64) {
		for _, c := range ss {
			if c.at > from.at && c.at <= to.at {
				metrics.Record(h, time.Duration(c.v))
				n++
			}
		}
		return n
	}
	autos := 0
	for _, at := range ph.autos {
		if at > from.at && at <= to.at {
			autos++
		}
	}
	t.CommitsPerSec = float64(inWindow(ph.commits, call)+int64(autos)) / secs
	inWindow(ph.wire, wire)
	t.CommitLatency, t.WireCommitLatency = metrics.Summarize(call), metrics.Summarize(wire)
	if t.Relay, err = ph.relay(ctx); err != nil {
		return t, 0, err
	}
	if t.CommitLatencyHist, err = metrics.Encode(call); err != nil {
		return t, 0, err
	}
	if t.WireCommitLatencyHist, err = metrics.Encode(wire); err != nil {
		return t, 0, err
	}
	return t, time.Duration(pr.doneAt - pr.firstAt), nil
}
