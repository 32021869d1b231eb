// Package results is the stream a run produces: one Result per point as a
// JSON line, written so that an interrupted run keeps every finished point
// and never leaves a torn line, read back for export, plots, reports and
// gates.
package results

import (
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

// SchemaVersion is bumped when a field changes meaning. Version 2 records
// the interval as one object, the machine as "machine", warm-up and the
// broker's start-up time as settings apart from the measurements.
const SchemaVersion = 2

// Result is one point's measurement. Every figure carries its unit in its
// name; times are wall-clock on the machine that ran it.
type Result struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id"`
	// Key identifies the cell (workload/strategy/interval) across
	// repetitions; Repetition counts from 1.
	Key        string             `json:"key"`
	Workload   string             `json:"workload"`
	Strategy   string             `json:"strategy"`
	Guarantee  strategy.Guarantee `json:"guarantee"`
	Repetition int                `json:"repetition"`
	// Interval is the commit interval (zero for strategies that never
	// commit); its String is the one label every printer shows.
	Interval spec.Interval `json:"interval"`

	Topic      spec.Topic      `json:"topic"`
	Processing spec.Processing `json:"processing"`
	Client     spec.Client     `json:"client"`
	Crashes    spec.Crashes    `json:"crash_plan"`

	// WarmupRecords are processed before the throughput window opens.
	WarmupRecords int64 `json:"warmup_records"`

	Broker  cluster.Description `json:"broker"`
	Machine Machine             `json:"machine"`
	// EffectsIn says where the ledger counted effects: "ledger" (the
	// effect is the processing), "db" (result rows in the sink) or "topic"
	// (the output topic, read committed). Elsewhere than the ledger,
	// replay counts processing that the sink absorbed.
	EffectsIn string `json:"effects_counted_in"`
	// Sink is the database kind for "db" effects (its DSN is never
	// recorded).
	Sink string `json:"sink,omitempty"`

	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at"`

	// Group is the consumer-group set-up of the point's scenario phase,
	// and Events and Faults what happened to it (settings; nil without a
	// group).
	Group  *spec.Group  `json:"group,omitempty"`
	Events []spec.Event `json:"events,omitempty"`
	Faults []spec.Fault `json:"faults,omitempty"`

	Throughput Throughput `json:"throughput"`
	Crash      *Crash     `json:"crash,omitempty"`
	// Scenario is the group's scenario phase, in place of a crash phase.
	Scenario *Scenario `json:"scenario,omitempty"`
	// Violations lists, for people, every breach of the strategy's claim
	// that Check found when the point was recorded. Programs call Check.
	Violations []string `json:"violations"`
}

// Machine is the machine and software that produced a result.
type Machine struct {
	Commitbench string `json:"commitbench_version"`
	GoVersion   string `json:"go_version"`
	FranzGo     string `json:"franz_go_version"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
}

// Throughput is the crash-free phase: one worker consumes the whole topic.
type Throughput struct {
	Records         int64   `json:"records"`
	MeasuredRecords int64   `json:"measured_records"`
	MeasuredSeconds float64 `json:"measured_s"`
	RecordsPerSec   float64 `json:"records_per_s"`
	// Commits are the commits that completed inside the measured window;
	// CommitsTotal counts warm-up and shutdown commits too. Failed commits
	// (the whole phase) are never in either.
	Commits       int64   `json:"commits"`
	CommitsTotal  int64   `json:"commits_total"`
	CommitsPerSec float64 `json:"commits_per_s"`
	FailedCommits int64   `json:"failed_commits"`
	// ShutdownMs is the time from the last record processed to the
	// worker's end: its final commit, last transaction or relay drain,
	// which the window leaves out.
	ShutdownMs float64 `json:"shutdown_ms"`
	// CommitLatency is measured around the commit call; WireCommitLatency
	// is the commit request on the wire (franz-go broker hook): OffsetCommit,
	// or EndTxn for the transactional strategy.
	CommitLatency         metrics.Latency `json:"commit_latency"`
	CommitLatencyHist     string          `json:"commit_latency_hist_ns"`
	WireCommitLatency     metrics.Latency `json:"wire_commit_latency"`
	WireCommitLatencyHist string          `json:"wire_commit_latency_hist_ns"`
	WorkerCPUSeconds      float64         `json:"worker_cpu_s"`
	// BrokerCPUSeconds is the broker processes' CPU time over the phase
	// (embedded: the harness process, which kfake shares; absent where the
	// broker's processes cannot be seen).
	BrokerCPUSeconds *float64 `json:"broker_cpu_s,omitempty"`
	// OffsetsTopicRecords and OffsetsTopicBytes are what the phase appended
	// to __consumer_offsets (absent where the broker cannot tell).
	OffsetsTopicRecords *int64  `json:"offsets_topic_appended_records,omitempty"`
	OffsetsTopicBytes   *int64  `json:"offsets_topic_appended_bytes,omitempty"`
	WallSeconds         float64 `json:"wall_s"`
	// Lost and Duplicates in a crash-free run should be 0; anything else
	// is reported as a violation.
	Lost       int64 `json:"lost_records"`
	Duplicates int64 `json:"duplicate_effects"`
	// Relay is the outbox relay's view (outbox strategy only).
	Relay *Relay `json:"relay,omitempty"`
}

// Relay is what the outbox relay published, read from its output topic.
type Relay struct {
	// Published is every record on the output topic, repeats included.
	Published int64 `json:"published_records"`
	// Duplicates are the records the relay published more than once (a
	// kill between publishing and marking sent); a downstream consumer
	// drops them by outbox id.
	Duplicates int64 `json:"relay_duplicates"`
	// Missing are source records whose event never reached the topic.
	Missing int64 `json:"missing_after_dedup_records"`
	// Lag is the age of each published batch's oldest outbox row.
	Lag metrics.Latency `json:"lag"`
}

// Landing is where one kill landed.
type Landing struct {
	// PlannedAtRecords is the position the kill was planned at and
	// AtRecords where it landed: effects applied in the phase, replays
	// included, when the worker died.
	PlannedAtRecords int64 `json:"planned_at_records"`
	AtRecords        int64 `json:"at_records"`
	// KillPoint names the point of the loop the worker killed itself at
	// (crashes.kill_point); PlannedAtRecords is -1 then.
	KillPoint string `json:"kill_point,omitempty"`
	// SinceCommitRecords and SinceCommitMs are what the killed worker had
	// processed, and how long it had run, since its last successful
	// commit; absent when it had made none.
	SinceCommitRecords *int64   `json:"since_commit_records,omitempty"`
	SinceCommitMs      *float64 `json:"since_commit_ms,omitempty"`
	// ReplayBoundRecords is the most this crash may replay under the
	// strategy's claim where that bound differs per crash (async
	// commits: the interval plus what was held back or in flight).
	ReplayBoundRecords *int64 `json:"replay_bound_records,omitempty"`
}

// Crash is the crash phase: the worker is SIGKILLed at planned moments and
// replaced until the topic is consumed.
type Crash struct {
	Planned int `json:"planned"`
	// Kills is how many SIGKILLs landed (a worker may finish first).
	Kills int `json:"kills"`
	// Landed says where each kill landed, in order.
	Landed []Landing `json:"landed"`
	// ReplayPerCrash: effects applied again after each kill.
	ReplayPerCrash []int64   `json:"replay_per_crash_records"`
	ReplayMean     float64   `json:"replay_mean_records"`
	ReplayMax      int64     `json:"replay_max_records"`
	ReplayBound    *int64    `json:"replay_bound_records,omitempty"`
	LostPerCrash   []int64   `json:"lost_per_crash_records"`
	Lost           int64     `json:"lost_records"`
	LossBound      *int64    `json:"loss_bound_records,omitempty"`
	Duplicates     int64     `json:"duplicate_effects"`
	RecoveryMs     []float64 `json:"recovery_ms"`
	RecoveryMeanMs float64   `json:"recovery_mean_ms"`
	RecoveryMaxMs  float64   `json:"recovery_max_ms"`
	StaticMembers  bool      `json:"static_membership"`
	Relay          *Relay    `json:"relay,omitempty"`
	WallSeconds    float64   `json:"wall_s"`
}
