package summary

import (
	"fmt"
	"maps"
	"slices"

	"github.com/commitbench/commitbench/bench/results"
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
			for _, e := range r.Events {
				s.Events = append(s.Events, e.Kind)
			}
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
		}
	}
	if s == nil {
		return nil
	}
	s.RecordsPerSec, s.DupPerEvent, s.RebalanceMs = NewStat(rate), NewStat(dup), NewStat(reb)
	s.GapSumMs, s.GapMaxMs, s.Moved, s.Zombie = NewStat(gapSum), NewStat(gapMax), NewStat(moved), NewStat(zombie)
	return s
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
