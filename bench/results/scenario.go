package results

// Scenario is a consumer group's scenario phase: several worker processes
// in one group consume the topic while the workload's events happen to
// them. Counts come from the ledger the members share; hand-over times
// from the members' own reports of every partition they were given, gave
// up and processed.
type Scenario struct {
	// Members is how many members the group started with; IdleMembers how
	// many of them the topic's partitions leave without work.
	Members     int `json:"members"`
	IdleMembers int `json:"idle_members"`
	// WallSeconds runs from the first member's start to the topic
	// consumed by the group; RecordsPerSec is the source records over it,
	// events and their rebalances included.
	WallSeconds   float64 `json:"wall_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	// Lost and Duplicates are the phase's ledger totals: records never
	// applied, and effects applied to a record that already had one.
	Lost       int64 `json:"lost_records"`
	Duplicates int64 `json:"duplicate_effects"`
	// RejectedCommits counts the commits the group refused, or that failed
	// otherwise, by Kafka error name ("OTHER" for non-Kafka errors).
	RejectedCommits map[string]int64 `json:"rejected_commits"`
	// Relay is what the members' outbox relays published (outbox only):
	// duplicates are rows two relays published, a zombie's among them.
	Relay *Relay `json:"relay,omitempty"`
	// Events are the scenario's events, in order.
	Events []EventOutcome `json:"events"`
}

// EventOutcome is what one event or fault cost, measured over its window:
// from its start to the next one's start (or the end of the phase).
type EventOutcome struct {
	// Kind is the event's kind (spec.EventKinds) or the fault's
	// (spec.FaultKinds).
	Kind string `json:"kind"`
	// PlannedAtRecords is where it was planned (effects applied, replays
	// included) and AtRecords where it started.
	// Variant (a fault) tells faults of one kind apart: spec.Fault's
	// Variant.
	Variant          string `json:"variant,omitempty"`
	PlannedAtRecords int64  `json:"planned_at_records"`
	AtRecords        int64  `json:"at_records"`
	// StartMs is its start since the phase began; ActionsMs how long its
	// actions took (stops, starts, waits for members to join, the pause).
	StartMs   float64 `json:"start_ms"`
	ActionsMs float64 `json:"actions_ms"`
	// Members is how many members it stopped, killed, started or paused.
	Members int `json:"members"`
	// ReplayedRecords are the records processed again within its window
	// (the shared ledger, exact for every strategy). Duplicates are the
	// effects applied again: the same where processing is the effect;
	// where effects land in a sink or a topic, read once at the phase's
	// end, the phase's total when it had this one event, else unknown
	// (nil) per event.
	ReplayedRecords int64  `json:"replayed_records"`
	Duplicates      *int64 `json:"duplicate_effects,omitempty"`
	// PartitionsAssigned counts the partitions given to a member within
	// its window; PartitionsMoved those given to another member than the
	// one that had them (a restarted member, with its instance id, is the
	// same member).
	PartitionsAssigned int `json:"partitions_assigned"`
	PartitionsMoved    int `json:"partitions_moved"`
	// RebalanceMs runs from its start until every partition given out in
	// its window was processing again (absent when none was given out, or
	// one never processed again).
	RebalanceMs *float64 `json:"rebalance_ms,omitempty"`
	// GapSumMs and GapMaxMs are, over the partitions given out in its
	// window, the time from a partition's last record processed before
	// the hand-over (or the moment its member was stopped) to its first
	// record on the new assignment: the stop-the-world a user feels.
	GapSumMs float64 `json:"partition_gap_sum_ms"`
	GapMaxMs float64 `json:"partition_gap_max_ms"`
	// RejectedCommits are the failed commits within its window, by error.
	RejectedCommits map[string]int64 `json:"rejected_commits,omitempty"`
	// ZombieRecords (pause) are the records the paused member applied
	// after it resumed, until it learnt it had lost its partitions.
	ZombieRecords *int64 `json:"zombie_records,omitempty"`
	// NoProgressMaxMs is the longest time within its window in which the
	// group applied no record at all (sampled every millisecond; a stretch
	// is counted where it ends).
	NoProgressMaxMs float64 `json:"no_progress_max_ms"`
	// RecoveryMs (a fault that lasts: partition, broker-restart) runs from
	// the fault's end — healed, or the broker answering again — to the
	// first record the group applied after it (absent if none was).
	RecoveryMs *float64 `json:"recovery_ms,omitempty"`
	// InjectedErrors (commit-errors) are the requests the broker answered
	// with the fault's error; the client retried those it did not surface
	// (RejectedCommits are what it surfaced: every failed attempt).
	InjectedErrors *int64 `json:"injected_errors,omitempty"`
	// LeadersMoved (leader-move) are the partitions whose leader changed:
	// the topic's, or 1 when the group's coordinator moved.
	LeadersMoved *int `json:"leaders_moved,omitempty"`
	// MembersFailed (a fault) are the members that gave up in its window
	// — a transactional member whose End failed, as franz-go advises —
	// and that the harness restarted, as an orchestrator would.
	MembersFailed int `json:"members_failed,omitempty"`
	// MemberFailures are their last words, one line each.
	MemberFailures []string `json:"member_failures,omitempty"`
}
