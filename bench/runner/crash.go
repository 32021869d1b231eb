package runner

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/ledger"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// crashRec is what the crash phase knows about one kill.
type crashRec struct {
	killAt   time.Time
	started  map[int32]int64 // where the killed worker had resumed
	before   ledger.Snapshot // the ledger when the killed worker started
	after    ledger.Snapshot // the ledger when the killed worker was drained
	recovery time.Duration   // kill → the replacement's first record; <0 if none
	resumed  map[int32]int64 // where the replacement resumed
}

// crashes runs the crash phase: the worker is SIGKILLed at seeded random
// moments and replaced until the topic is consumed. busy is how long one
// worker took to consume it in the throughput phase; kills are spread over
// that span.
func (r *Runner) crashes(ctx context.Context, p spec.Point, strat consume.Strategy, busy time.Duration) (*results.Crash, error) {
	ph, err := r.newPhase(ctx, p, strat, "crash")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return nil, err
	}
	k := r.w.Crashes.PerPoint
	// Seeded by the cell and repetition, not the point's place in the
	// run, so the kill moments stay the same when workloads are combined.
	cell := fnv.New64a()
	fmt.Fprintf(cell, "%s#%d", p.Key, p.Repetition)
	rng := rand.New(rand.NewPCG(uint64(r.w.Crashes.Seed), cell.Sum64()))
	slot := busy / time.Duration(k+1)
	began := time.Now()
	var recs []crashRec
	var base int64
	before := ph.ledger.Snapshot()
	for {
		s, err := start(ctx, r.worker, ph.cfg)
		if err != nil {
			return nil, err
		}
		pr := &proc{s: s, starts: map[int32]int64{}, base: base}
		delay := time.Duration(-1)
		if len(recs) < k {
			// Uniform within the middle of a slot, so a kill lands at a
			// random point of the commit cycle and the worker is busy.
			delay = time.Duration(float64(slot) * (0.1 + 0.8*rng.Float64()))
		}
		killAt, err := r.pump(ctx, ph, pr, delay)
		if err != nil {
			return nil, err
		}
		killed := !killAt.IsZero()
		if n := len(recs); n > 0 {
			last := &recs[n-1]
			last.resumed = pr.starts
			last.recovery = -1
			if pr.firstAt != 0 {
				last.recovery = time.Unix(0, pr.firstAt).Sub(last.killAt)
			}
		}
		base = lastProgress(ph.progress)
		if !killed {
			break
		}
		fmt.Fprintf(r.log, "%s rep %d: SIGKILL %d after %s of work\n", p.Key, p.Repetition, len(recs)+1, delay.Round(time.Microsecond))
		after := ph.ledger.Snapshot()
		recs = append(recs, crashRec{killAt: killAt, started: pr.starts, before: before, after: after})
		before = after
	}
	wall := time.Since(began)
	eff, err := ph.effects(ctx)
	if err != nil {
		return nil, err
	}
	tally := eff.Tally()
	relay, err := ph.relay(ctx)
	if err != nil {
		return nil, err
	}
	c := &results.Crash{
		Relay:          relay,
		Planned:        k,
		Kills:          len(recs),
		ReplayPerCrash: []int64{},
		LostPerCrash:   []int64{},
		RecoveryMs:     []float64{},
		Lost:           tally.Lost,
		Duplicates:     tally.Duplicates,
		StaticMembers:  r.w.Client.Static(),
		WallSeconds:    wall.Seconds(),
	}
	for _, rec := range recs {
		// What the kill replays: records the killed worker applied at or
		// past where its replacement resumed.
		replay := appliedBetween(rec.before, rec.after, rec.resumed)
		c.ReplayPerCrash = append(c.ReplayPerCrash, replay)
		c.ReplayMax = max(c.ReplayMax, replay)
		c.ReplayMean += float64(replay) / float64(len(recs))
		// What the kill lost: records from where the killed worker
		// resumed to where its replacement did, whose effect never
		// landed. Later workers never go below their resume point, and
		// these ranges are disjoint, so the losses add up to the total.
		var lost int64
		for p, from := range rec.started {
			lost += eff.LostIn(p, from, rec.resumed[p])
		}
		c.LostPerCrash = append(c.LostPerCrash, lost)
		if rec.recovery >= 0 {
			ms := float64(rec.recovery) / float64(time.Millisecond)
			c.RecoveryMs = append(c.RecoveryMs, ms)
			c.RecoveryMaxMs = max(c.RecoveryMaxMs, ms)
			c.RecoveryMeanMs += ms
		}
	}
	if n := len(c.RecoveryMs); n > 0 {
		c.RecoveryMeanMs /= float64(n)
	}
	if b, ok := ph.strat.ReplayBound(p.Interval.Records); ok {
		c.ReplayBound = &b
	}
	if b, ok := ph.strat.LossBound(p.Interval.Records); ok {
		c.LossBound = &b
	}
	return c, nil
}

// appliedBetween counts records at or past from[p] whose count rose from
// snapshot a to snapshot b.
func appliedBetween(a, b ledger.Snapshot, from map[int32]int64) int64 {
	var n int64
	for p, cb := range b {
		ca := a[p]
		for o := max(from[p], 0); o < int64(len(cb)); o++ {
			if cb[o] > ca[o] {
				n++
			}
		}
	}
	return n
}

func lastProgress(ps []sample) int64 {
	if len(ps) == 0 {
		return 0
	}
	return ps[len(ps)-1].v
}
