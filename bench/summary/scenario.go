package summary

import (
	"fmt"
	"maps"
	"slices"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// Scenario is a cell's scenario phases (a consumer group and what happened
// to it) over its repetitions.
type Scenario struct {
	// Group names the set-up; Members is how many it started with, and
	// IdleMembers how many of them had no partition.
	Group                string
	Members, IdleMembers int
	// Events are the events one repetition planned, by kind in order
	// ("rolling-restart", "kill+pause" …).
	Events []string
	// RecordsPerSec is the group's throughput over the phase.
	RecordsPerSec Stat
	// Lost and Duplicates are totals over the repetitions.
	Lost, Duplicates int64
	// Per event, over every event of every repetition (N is the events):
	// the effects duplicated, the rebalance (start → every partition given
	// out processing again), the partitions' summed and longest gap, and
	// the partitions moved to another member.
	DupPerEvent, RebalanceMs, GapSumMs, GapMaxMs, Moved Stat
	// Zombie is the records a paused member applied after resuming, per
	// pause.
	Zombie Stat
	// Rejected counts failed commits by error over the repetitions.
	Rejected map[string]int64
	// Faults are the figures of each fault kind the scenario had, in the
	// order they first happen.
	Faults []FaultSummary
}

// FaultSummary is one fault kind's figures over a cell's faults of that
// kind, every repetition's (N is the faults).
type FaultSummary struct {
	// Kind and Variant name the faults: a row per both.
	Kind, Variant string
	// Replayed are the records processed again in a fault's window;
	// NoProgressMs the longest stretch without a record applied in it;
	// RecoveryMs from a lasting fault's end to the next record.
	Replayed, NoProgressMs, RecoveryMs Stat
	// Injected totals the requests the broker failed (commit-errors), and
	// Surfaced the commits the client reported failed, by error.
	Injected int64
	Surfaced map[string]int64
	// LeadersMoved totals the leaderships the leader-moves moved.
	LeadersMoved int
	// MembersFailed totals the members that gave up in a window and were
	// restarted.
	MembersFailed int
}

// Label is the faults' kind and variant, "partition (stall)".
func (f FaultSummary) Label() string {
	if f.Variant == "" {
		return f.Kind
	}
	return fmt.Sprintf("%s (%s)", f.Kind, f.Variant)
}

// Did is what the faults of this kind did to the cluster, where the
// harness counts it: the errors injected, the leaders moved; "–" else.
func (f FaultSummary) Did() string {
	switch f.Kind {
	case spec.FaultCommitErrors:
		return fmt.Sprintf("%d errors", f.Injected)
	case spec.FaultLeaderMove:
		return fmt.Sprintf("%d leaders moved", f.LeadersMoved)
	}
	return "–"
}

// RejectedTotal is every failed commit.
func (s Scenario) RejectedTotal() int64 {
	var n int64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// RejectedNames are the errors behind Rejected, sorted.
func (s Scenario) RejectedNames() []string { return slices.Sorted(maps.Keys(s.Rejected)) }

func scenarios(reps []results.Result) *Scenario {
	var s *Scenario
	var rate, dup, reb, gapSum, gapMax, moved, zombie []float64
	faults, kinds := map[string]*faultValues{}, []string(nil)
	for _, r := range reps {
		sc := r.Scenario
		if sc == nil {
			continue
		}
		if s == nil {
			s = &Scenario{Members: sc.Members, IdleMembers: sc.IdleMembers, Rejected: map[string]int64{}}
			if r.Group != nil {
				s.Group = r.Group.Name
			}
			s.Events = schedule(r)
		}
		rate = append(rate, sc.RecordsPerSec)
		s.Lost += sc.Lost
		s.Duplicates += sc.Duplicates
		for k, v := range sc.RejectedCommits {
			s.Rejected[k] += v
		}
		for _, e := range sc.Events {
			if e.Duplicates != nil {
				dup = append(dup, float64(*e.Duplicates))
			}
			if e.RebalanceMs != nil {
				reb = append(reb, *e.RebalanceMs)
			}
			gapSum, gapMax, moved = append(gapSum, e.GapSumMs), append(gapMax, e.GapMaxMs), append(moved, float64(e.PartitionsMoved))
			if e.ZombieRecords != nil {
				zombie = append(zombie, float64(*e.ZombieRecords))
			}
			if slices.Contains(spec.FaultKinds, e.Kind) {
				k := e.Kind + "\x00" + e.Variant
				fk := faults[k]
				if fk == nil {
					fk = &faultValues{FaultSummary: FaultSummary{Kind: e.Kind, Variant: e.Variant, Surfaced: map[string]int64{}}}
					faults[k] = fk
					kinds = append(kinds, k)
				}
				fk.add(e)
			}
		}
	}
	if s == nil {
		return nil
	}
	s.RecordsPerSec, s.DupPerEvent, s.RebalanceMs = NewStat(rate), NewStat(dup), NewStat(reb)
	s.GapSumMs, s.GapMaxMs, s.Moved, s.Zombie = NewStat(gapSum), NewStat(gapMax), NewStat(moved), NewStat(zombie)
	for _, k := range kinds {
		s.Faults = append(s.Faults, faults[k].summary())
	}
	return s
}

// faultValues gathers one fault kind's windows.
type faultValues struct {
	FaultSummary
	replayed, stall, recovery []float64
}

func (f *faultValues) add(e results.EventOutcome) {
	f.replayed, f.stall = append(f.replayed, float64(e.ReplayedRecords)), append(f.stall, e.NoProgressMaxMs)
	if e.RecoveryMs != nil {
		f.recovery = append(f.recovery, *e.RecoveryMs)
	}
	if e.InjectedErrors != nil {
		f.Injected += *e.InjectedErrors
	}
	if e.LeadersMoved != nil {
		f.LeadersMoved += *e.LeadersMoved
	}
	for k, v := range e.RejectedCommits {
		f.Surfaced[k] += v
	}
	f.MembersFailed += e.MembersFailed
}

func (f *faultValues) summary() FaultSummary {
	out := f.FaultSummary
	out.Replayed, out.NoProgressMs, out.RecoveryMs = NewStat(f.replayed), NewStat(f.stall), NewStat(f.recovery)
	return out
}

// schedule is a result's events and faults by kind, in the order they
// were planned.
func schedule(r results.Result) []string {
	var out []string
	for _, it := range spec.Schedule(r.Events, r.Faults) {
		out = append(out, it.Kind)
	}
	return out
}

// scenarioCaveats flags events whose figures measure little: one that the
// group's consumption passed before it could start (the group took that
// long to settle), or that never started at all.
func scenarioCaveats(c Cell) []string {
	var out []string
	late, missing := 0, 0
	for _, r := range c.Reps {
		sc := r.Scenario
		if sc == nil {
			continue
		}
		missing += len(r.Events) - len(sc.Events)
		for _, e := range sc.Events {
			if e.AtRecords-e.PlannedAtRecords > r.Topic.Records/10 {
				late++
			}
		}
	}
	if late > 0 {
		out = append(out, fmt.Sprintf("%s: %d events started more than a tenth of the topic past where they were planned (the group took that long to settle): raise topic.records or plan them later", c.Key, late))
	}
	if missing > 0 {
		out = append(out, fmt.Sprintf("%s: %d events never started: the group consumed the topic before it was settled for them; raise topic.records", c.Key, missing))
	}
	return out
}
