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
	"github.com/commitbench/commitbench/bench/strategy"
)

// crashRec is what the crash phase knows about one kill.
type crashRec struct {
	landing  results.Landing
	killAt   time.Time
	started  map[int32]int64 // where the killed worker had resumed
	before   ledger.Snapshot // the ledger when the killed worker started
	after    ledger.Snapshot // the ledger when the killed worker was drained
	recovery time.Duration   // kill → the replacement's first record; <0 if none
	resumed  map[int32]int64 // where the replacement resumed
}

// killPositions plans k kills over the phase's consumption of records
// records: the i-th lands uniformly at random in the i-th of k equal
// strata, so kills reach every part of the topic (with k a multiple of 4,
// every quartile) whatever a worker's start, and each lands at a random
// point of its commit cycle. Positions count effects, replays included.
// Seeded by the cell and repetition, not the point's place in the run, so
// they stay the same when workloads are combined.
func killPositions(seed int64, key string, rep, k int, records int64) []int64 {
	cell := fnv.New64a()
	fmt.Fprintf(cell, "%s#%d", key, rep)
	rng := rand.New(rand.NewPCG(uint64(seed), cell.Sum64()))
	out := make([]int64, k)
	for i := range out {
		out[i] = int64((float64(i) + rng.Float64()) * float64(records) / float64(k))
	}
	return out
}

// crashes runs the crash phase: the worker is SIGKILLed at planned
// positions of the phase's consumption and replaced until the topic is
// consumed.
func (r *Runner) crashes(ctx context.Context, p spec.Point, strat consume.Strategy) (*results.Crash, error) {
	ph, err := r.newPhase(ctx, p, strat, "crash")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return nil, err
	}
	plan := killPositions(r.w.Crashes.Seed, p.Key, p.Repetition, r.w.Crashes.PerPoint, r.w.Topic.Records)
	kp := r.w.Crashes.KillPoint // when set, workers kill themselves there instead
	began := time.Now()
	var recs []crashRec
	var base int64
	before := ph.ledger.Snapshot()
	for {
		startedNs := time.Now().UnixNano()
		cfg := ph.cfg
		armed := kp != nil && len(recs) < len(plan)
		if armed {
			cfg.KillPoint = kp
		}
		s, err := start(ctx, r.worker, cfg)
		if err != nil {
			return nil, err
		}
		s.armed = armed
		pr := &proc{s: s, starts: map[int32]int64{}, base: base}
		killAt := int64(-1)
		if kp == nil && len(recs) < len(plan) {
			killAt = plan[len(recs)]
		}
		killedAt, err := r.pump(ctx, ph, pr, killAt)
		if err != nil {
			return nil, err
		}
		if n := len(recs); n > 0 {
			last := &recs[n-1]
			last.resumed = pr.starts
			last.recovery = -1
			if pr.firstAt != 0 {
				last.recovery = time.Unix(0, pr.firstAt).Sub(last.killAt)
			}
		}
		base = lastProgress(ph.progress)
		if killedAt.IsZero() {
			break
		}
		rec := crashRec{killAt: killedAt, started: pr.starts, before: before, after: ph.ledger.Snapshot()}
		slot := ph.ledger.Slot(ph.cfg.LedgerSlot)
		rec.landing = landing(killAt, ph.ledger.Applied(), slot, startedNs, killedAt)
		rec.landing.ReplayBoundRecords = crashBound(strat, p.Interval.Records, slot)
		if armed {
			rec.landing.PlannedAtRecords, rec.landing.KillPoint = -1, kp.Point
		}
		fmt.Fprintf(r.log, "%s rep %d: SIGKILL %d at %d records (planned %d)\n", p.Key, p.Repetition, len(recs)+1, rec.landing.AtRecords, killAt)
		recs = append(recs, rec)
		before = rec.after
	}
	wall := time.Since(began)
	eff, err := ph.effects(ctx)
	if err != nil {
		return nil, err
	}
	relay, err := ph.relay(ctx)
	if err != nil {
		return nil, err
	}
	c := crashFigures(recs, eff)
	c.Relay, c.Planned, c.StaticMembers, c.WallSeconds = relay, len(plan), r.w.Client.Static(), wall.Seconds()
	if b, ok := strat.ReplayBound(p.Interval.Records); ok {
		c.ReplayBound = &b
	}
	if b, ok := strat.LossBound(p.Interval.Records); ok {
		c.LossBound = &b
	}
	return c, nil
}

// crashFigures turns the kills and the phase's effects into the per-crash
// figures: where each landed, replay, loss and recovery.
func crashFigures(recs []crashRec, eff *ledger.Ledger) *results.Crash {
	tally := eff.Tally()
	c := &results.Crash{
		Kills:          len(recs),
		Landed:         []results.Landing{},
		ReplayPerCrash: []int64{},
		LostPerCrash:   []int64{},
		RecoveryMs:     []float64{},
		Lost:           tally.Lost,
		Duplicates:     tally.Duplicates,
	}
	for _, rec := range recs {
		c.Landed = append(c.Landed, rec.landing)
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
	return c
}

// landing is where a kill landed: the phase's count of effects when the
// worker died, and how far the killed worker had got since its last
// successful commit — both read from the ledger once the worker was dead,
// where it published them without a system call, so exact.
func landing(planned, diedAt int64, slot ledger.SlotState, startedNs int64, killedAt time.Time) results.Landing {
	l := results.Landing{PlannedAtRecords: planned, AtRecords: diedAt}
	if slot.CommittedAtNs >= startedNs { // a commit of this worker's
		since := slot.Applied - slot.CommittedThrough
		ms := float64(killedAt.UnixNano()-slot.CommittedAtNs) / 1e6
		l.SinceCommitRecords, l.SinceCommitMs = &since, &ms
	}
	return l
}

// crashBound is the replay bound of one crash where the strategy's bound
// depends on it: the held-back and in-flight records the worker published
// in its ledger slot.
func crashBound(strat consume.Strategy, records int64, slot ledger.SlotState) *int64 {
	if strat.Replay != strategy.ReplayIntervalPlusInFlight {
		return nil
	}
	var inFlight int64
	if slot.IssuedThrough > slot.CommittedThrough { // a commit was in flight
		inFlight = slot.Applied - slot.IssuedThrough
	}
	// The next commit is held back by what was processed while the last
	// one flew: published when it is issued, or — killed before it was
	// — the last flight, plus the record whose check would have issued it.
	held := max(slot.IssuedHeld, slot.LastFlight+1)
	b, ok := strat.CrashReplayBound(records, held, inFlight)
	if !ok {
		return nil
	}
	return &b
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
