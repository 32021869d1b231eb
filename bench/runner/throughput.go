package runner

import (
	"context"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// throughput runs the crash-free phase: one worker consumes the topic.
func (r *Runner) throughput(ctx context.Context, p spec.Point, strat consume.Strategy) (results.Throughput, error) {
	ph, err := r.newPhase(ctx, p, strat, "tput")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return results.Throughput{}, err
	}
	before := r.load(ctx)
	s, err := start(ctx, r.worker, ph.cfg)
	if err != nil {
		return results.Throughput{}, err
	}
	pr := &proc{s: s, starts: map[int32]int64{}}
	began := time.Now()
	if _, err := r.pump(ctx, ph, pr, -1); err != nil {
		return results.Throughput{}, err
	}
	wall := time.Since(began)
	cpu, offRecords, offBytes := r.load(ctx).Since(before)
	eff, err := ph.effects(ctx)
	if err != nil {
		return results.Throughput{}, err
	}
	tally := eff.Tally()
	t := results.Throughput{
		Records:             tally.Records,
		FailedCommits:       ph.failed,
		CommitsTotal:        int64(len(ph.commits) + len(ph.autos)),
		WorkerCPUSeconds:    s.cpuSeconds(),
		BrokerCPUSeconds:    cpu,
		OffsetsTopicRecords: offRecords,
		OffsetsTopicBytes:   offBytes,
		WallSeconds:         wall.Seconds(),
		Lost:                tally.Lost,
		Duplicates:          tally.Duplicates,
	}
	win, err := steadyWindow(ph.progress, r.w.WarmupRecords)
	if err != nil {
		return t, err
	}
	if err := ph.measureWindow(&t, win, pr.doneAt); err != nil {
		return t, err
	}
	if t.Relay, err = ph.relay(ctx); err != nil {
		return t, err
	}
	return t, nil
}

// measureWindow fills in what the steady window holds: records, seconds,
// the commits made inside it and their latencies, and the shutdown that
// followed it (doneAt is when the worker reported the end, after its
// final commit, transaction or relay drain).
func (ph *phase) measureWindow(t *results.Throughput, w window, doneAt int64) error {
	t.MeasuredRecords = w.records()
	t.MeasuredSeconds = w.seconds()
	t.RecordsPerSec = float64(t.MeasuredRecords) / t.MeasuredSeconds
	if doneAt > w.to.at {
		t.ShutdownMs = float64(doneAt-w.to.at) / 1e6
	}
	call, wire := metrics.NewHistogram(), metrics.NewHistogram()
	record := func(ss []sample, h *hdrhistogram.Histogram) (n int64) {
		for _, c := range ss {
			if w.holds(c.at) {
				metrics.Record(h, time.Duration(c.v))
				n++
			}
		}
		return n
	}
	t.Commits = record(ph.commits, call)
	for _, at := range ph.autos {
		if w.holds(at) {
			t.Commits++
		}
	}
	t.CommitsPerSec = float64(t.Commits) / t.MeasuredSeconds
	record(ph.wire, wire)
	t.CommitLatency, t.WireCommitLatency = metrics.Summarize(call), metrics.Summarize(wire)
	var err error
	if t.CommitLatencyHist, err = metrics.Encode(call); err != nil {
		return err
	}
	t.WireCommitLatencyHist, err = metrics.Encode(wire)
	return err
}
