package runner

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/spec"
)

// faultWorkload is one member (the group a workload with faults and none
// of its own gets) under strategy, committing every n records, with the
// faults given, on a broker of kind.
func faultWorkload(t *testing.T, kind, strategy string, n int64, faults ...string) *spec.Workload {
	t.Helper()
	w, err := spec.Parse(fmt.Appendf(nil, `
broker: {kind: %s}
name: flt
topic: {partitions: 4, records: 20000, record_bytes: 32}
processing: {cpu_us: 30}
strategies: [%s]
intervals: [{records: %d}]
client: {session_timeout: 2s}
crashes: {seed: 3}
faults: [%s]
`, kind, strategy, n, strings.Join(faults, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Commit errors the broker answers in place of the commit are counted on
// the broker's side; under at-least-once-sync none loses a record,
// whether the client retries them (NOT_COORDINATOR: it looks the
// coordinator up again) or surfaces them (REBALANCE_IN_PROGRESS).
func TestFaultCommitErrors(t *testing.T) {
	for _, tt := range []struct {
		err      string
		surfaced bool
	}{
		{"NOT_COORDINATOR", false},
		{"REBALANCE_IN_PROGRESS", true},
	} {
		t.Run(tt.err, func(t *testing.T) {
			const count = 4
			res := runOne(t, faultWorkload(t, "embedded", "at-least-once-sync", 500, fmt.Sprintf("{kind: commit-errors, at: 0.3, requests: [OffsetCommit], error: %s, count: %d}", tt.err, count)))
			s := scenarioOf(t, res)
			if s.Lost != 0 {
				t.Errorf("lost %d records, want 0", s.Lost)
			}
			ev := s.Events[0]
			if ev.InjectedErrors == nil || *ev.InjectedErrors != count {
				t.Fatalf("the broker failed %v commits, want %d", ev.InjectedErrors, count)
			}
			if got := ev.RejectedCommits[tt.err]; tt.surfaced && got != count || !tt.surfaced && got != 0 {
				t.Errorf("the client surfaced %d of the %d %s answers; want %v", got, count, tt.err, tt.surfaced)
			}
		})
	}
}

// A transactional member whose EndTxn the broker fails cannot go on: it
// finds its session still in the transaction and gives up, as franz-go
// advises; the harness restarts it once the fault is over, as an
// orchestrator would, and counts it — and the transaction it gave up on
// is neither lost nor applied twice.
func TestFaultRestartsAFailedMember(t *testing.T) {
	res := runOne(t, faultWorkload(t, "embedded", "transactional", 500, "{kind: commit-errors, at: 0.3, requests: [EndTxn], error: REBALANCE_IN_PROGRESS, count: 1}"))
	s := scenarioOf(t, res)
	if s.Lost != 0 || s.Duplicates != 0 {
		t.Errorf("lost %d, duplicated %d effects; want 0 and 0", s.Lost, s.Duplicates)
	}
	ev := s.Events[0]
	if ev.MembersFailed != 1 || len(ev.MemberFailures) != 1 {
		t.Errorf("%d members failed (%q), want 1 restarted", ev.MembersFailed, ev.MemberFailures)
	}
}

// A partition between the group and the cluster, in either mode — every
// connection reset and new ones refused, or every connection held open
// passing nothing (past the 2 s session timeout) — loses nothing under
// at-least-once-sync, and the group processes again after it healed.
func TestFaultPartition(t *testing.T) {
	for _, mode := range []string{spec.PartitionReset, spec.PartitionStall} {
		t.Run(mode, func(t *testing.T) {
			res := runOne(t, faultWorkload(t, "embedded", "at-least-once-sync", 500, "{kind: partition, at: 0.3, for: 3s, mode: "+mode+"}"))
			s := scenarioOf(t, res)
			if s.Lost != 0 {
				t.Errorf("lost %d records, want 0", s.Lost)
			}
			ev := s.Events[0]
			if ev.RecoveryMs == nil {
				t.Errorf("no record processed after the partition healed: %+v", ev)
			}
			if ev.Variant != mode {
				t.Errorf("the partition's variant %q, want %q", ev.Variant, mode)
			}
		})
	}
}

// Broker faults on real Kafka: a SIGKILLed and restarted node, and a
// partition, lose nothing under at-least-once-sync, and the group
// processes again after each.
func TestFaultsOnLocalKafka(t *testing.T) {
	b := startLocalKafka(t, 1)
	for _, f := range []string{
		"{kind: broker-restart, at: 0.3, for: 2s}",
		"{kind: partition, at: 0.3, for: 3s}",
	} {
		t.Run(f, func(t *testing.T) {
			w := faultWorkload(t, "local", "at-least-once-sync", 500, f)
			w.Topic.Records = 40000
			s := scenarioOf(t, runOn(t, b, w))
			if s.Lost != 0 {
				t.Errorf("lost %d records, want 0", s.Lost)
			}
			if ev := s.Events[0]; ev.RecoveryMs == nil {
				t.Errorf("no record processed after the fault ended: %+v", ev)
			}
		})
	}
}

// Faults on three local nodes, one cluster for both halves:
//   - the coordinator's node going away moves the group's coordinator
//     (and its partitions' leaders) to another, and so do leader moves on
//     the live cluster: a move of every partition's leader, a move of the
//     coordinator alone, a controlled shutdown and a SIGKILL lose nothing
//     under at-least-once-sync, and each move moved what it names;
//   - a group of three rolls under both protocols on replicated offsets;
//   - the exactly-once family, with PostgreSQL as the sink, across the
//     coordinator's node SIGKILLed, the coordinator and every leader
//     moved, and the network reset and stalled: every effect lands
//     exactly once.
func TestFaultsOnThreeLocalNodes(t *testing.T) {
	b := startLocalKafka(t, 3)
	t.Run("at-least-once-sync", func(t *testing.T) {
		w := faultWorkload(t, "local", "at-least-once-sync", 500,
			"{kind: leader-move, at: 0.1}", "{kind: leader-move, of: coordinator, at: 0.2}",
			"{kind: broker-restart, at: 0.3, for: 2s, clean: true}", "{kind: broker-restart, at: 0.6, for: 2s}")
		w.Topic.Records = 40000
		s := scenarioOf(t, runOn(t, b, w))
		// The group may finish the topic on the other nodes before the
		// node is back: no recovery figure is asserted.
		if s.Lost != 0 {
			t.Errorf("lost %d records, want 0", s.Lost)
		}
		// The moves come first, on a cluster with every replica in sync (a
		// clean restart's stop and start outlast the rest of the topic
		// here): every move moves.
		want := map[int64]int{4000: int(w.Topic.Partitions), 8000: 1}
		got := map[int64]int{}
		for _, ev := range s.Events {
			if ev.LeadersMoved != nil {
				got[ev.PlannedAtRecords] = *ev.LeadersMoved
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("leaders moved by the move planned at each record: %v, want %v", got, want)
		}
	})
	// A group of three rolled on replicated offsets, under both protocols.
	for _, g := range []string{rollingClassic, rollingConsumer} {
		t.Run(g, func(t *testing.T) { checkCleanRollingRestart(t, b, g) })
	}
	dsn := pgDSN(t)
	for _, name := range []string{"exactly-once-db", "idempotent", "outbox", "transactional"} {
		t.Run(name, func(t *testing.T) {
			w := faultWorkload(t, "local", name, 500, "{kind: broker-restart, at: 0.15, for: 2s}",
				"{kind: leader-move, of: coordinator, at: 0.35}", "{kind: leader-move, at: 0.5}",
				"{kind: partition, at: 0.65, for: 2s}", "{kind: partition, at: 0.8, for: 2s, mode: stall}")
			w.Topic.Records = 40000
			if name != "transactional" {
				w.Sink = spec.Sink{Kind: "postgres", DSN: dsn}
			}
			s := scenarioOf(t, runOn(t, b, w))
			if s.Lost != 0 || s.Duplicates != 0 {
				t.Errorf("lost %d, duplicated %d effects; want 0 and 0", s.Lost, s.Duplicates)
			}
			if rl := s.Relay; name == "outbox" && (rl == nil || rl.Missing != 0) {
				t.Errorf("the relay: %+v; want every event published", rl)
			}
		})
	}
}

// The exactly-once family across broker faults on real Kafka, with
// PostgreSQL as the sink: a SIGKILLed and restarted node, then a
// partition between the group and the cluster, and every effect lands
// exactly once — the correctness goal of the faults, asserted exactly.
// No recovery is asserted: a database strategy commits nothing to Kafka
// and may finish the topic on what it fetched before the partition.
// transactional lost 10,500 records here in 2 of 2 runs before a member
// given a partition again stopped seeking an earlier rewind
// (TestAssignmentEndsAnEarlierSeek).
func TestExactlyOnceAcrossFaultsOnLocalKafka(t *testing.T) {
	dsn := pgDSN(t)
	b := startLocalKafka(t, 1)
	for _, name := range []string{"exactly-once-db", "idempotent", "outbox", "transactional"} {
		t.Run(name, func(t *testing.T) {
			w := faultWorkload(t, "local", name, 500, "{kind: broker-restart, at: 0.25, for: 2s}", "{kind: partition, at: 0.65, for: 3s}")
			w.Topic.Records = 40000
			if name != "transactional" {
				w.Sink = spec.Sink{Kind: "postgres", DSN: dsn}
			}
			s := scenarioOf(t, runOn(t, b, w))
			if s.Lost != 0 || s.Duplicates != 0 {
				t.Errorf("lost %d, duplicated %d effects; want 0 and 0", s.Lost, s.Duplicates)
			}
			if rl := s.Relay; name == "outbox" && (rl == nil || rl.Missing != 0) {
				t.Errorf("the relay: %+v; want every event published", rl)
			}
		})
	}
}
