package runner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// groupWorkload is a group of members consuming a small topic under sync
// commits every n records, with the given group settings and events.
func groupWorkload(t *testing.T, strategy string, n int64, group, events string, extra ...string) *spec.Workload {
	t.Helper()
	w, err := spec.Parse(fmt.Appendf(nil, `%s
name: grp
topic: {partitions: 6, records: 30000, record_bytes: 32}
processing: {cpu_us: 30}
strategies: [%s]
intervals: [{records: %d}]
client: {session_timeout: 2s}
crashes: {seed: 3}
groups: [%s]
events: [%s]
`, strings.Join(extra, "\n"), strategy, n, group, events))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func scenarioOf(t *testing.T, res results.Result) *results.Scenario {
	t.Helper()
	checkCrashFree(t, res)
	s := res.Scenario
	if s == nil {
		t.Fatal("no scenario phase recorded")
	}
	if n := len(res.Events) + len(res.Faults); len(s.Events) != n {
		t.Fatalf("%d of %d events and faults happened", len(s.Events), n)
	}
	// As JSON: the optional figures are pointers, which %+v would hide.
	b, _ := json.Marshal(s)
	t.Logf("scenario: %s", b)
	return s
}

// A rolling restart of three static members under sync commits loses
// nothing and replays at most N per member restarted (cooperative-sticky:
// only the restarted member's partitions move, back to its successor).
func TestGroupRollingRestart(t *testing.T) {
	const n = 500
	res := runOne(t, groupWorkload(t, "at-least-once-sync", n, "{members: 3}", "{kind: rolling-restart, at: 0.2}"))
	s := scenarioOf(t, res)
	if s.Lost != 0 {
		t.Errorf("lost %d records, want 0 under at-least-once", s.Lost)
	}
	ev := s.Events[0]
	if ev.Members != 3 {
		t.Errorf("restarted %d members, want 3", ev.Members)
	}
	if s.Duplicates > 3*n {
		t.Errorf("%d duplicate effects, above %d (N per member restarted)", s.Duplicates, 3*n)
	}
	if ev.PartitionsAssigned < 6 {
		t.Errorf("%d partitions handed over, want each member's to its successor (6)", ev.PartitionsAssigned)
	}
	if len(results.Check(res)) != 0 {
		t.Errorf("breaches: %v", results.Check(res))
	}
}

// With commit on revoke, a clean close commits everything processed: the
// successor replays nothing.
func TestGroupRollingRestartCommitOnRevoke(t *testing.T) {
	res := runOne(t, groupWorkload(t, "at-least-once-sync", 500, "{members: 3, commit_on_revoke: true}", "{kind: rolling-restart, at: 0.2}"))
	s := scenarioOf(t, res)
	if s.Lost != 0 || s.Duplicates != 0 {
		t.Errorf("lost %d, duplicated %d; want 0 and 0 with commit on revoke and a clean close", s.Lost, s.Duplicates)
	}
}

// Scaling out and in loses nothing; the scaled-out members get work.
func TestGroupScaleOutAndIn(t *testing.T) {
	res := runOne(t, groupWorkload(t, "at-least-once-sync", 500, "{members: 2}",
		"{kind: scale-out, at: 0.2, members: 2}, {kind: scale-in, at: 0.5, members: 3}"))
	s := scenarioOf(t, res)
	if s.Lost != 0 {
		t.Errorf("lost %d records, want 0", s.Lost)
	}
	if out := s.Events[0]; out.Members != 2 || out.PartitionsMoved == 0 {
		t.Errorf("scale-out: %d members, %d partitions moved; want 2 and some", out.Members, out.PartitionsMoved)
	}
	if in := s.Events[1]; in.Members != 3 || in.PartitionsMoved == 0 {
		t.Errorf("scale-in: %d members, %d partitions moved; want 3 and some", in.Members, in.PartitionsMoved)
	}
}

// A member paused past its session timeout loses its partitions while it
// still holds processed, uncommitted records: the group replays them, and
// the zombie, resumed, has its commit rejected. At-most-once, whose
// commits run ahead of processing, loses instead and never duplicates.
func TestGroupPauseMakesAZombie(t *testing.T) {
	// Commits every 7,000 records, which no member's share of the topic
	// is a multiple of, and pauses at 0.3 of it, when every member has
	// processed for a while (a member just given its partitions has
	// nothing to replay): the paused member holds processed, uncommitted
	// records unless the pause lands on its very commit. Under the
	// consumer protocol the 2 s session timeout is the group's config on
	// the broker (its default is 45 s, which the pause would not exceed).
	for _, g := range []string{"{members: 3}", "{members: 3, protocol: consumer, static_membership: false}"} {
		t.Run(g, func(t *testing.T) {
			checkPauseReplays(t, runOne(t, pauseWorkload(t, g)))
		})
	}
}

// pauseWorkload pauses one of the group's members for 5 s, past its 2 s
// session timeout, under at-least-once-sync every 7,000 records.
func pauseWorkload(t *testing.T, group string) *spec.Workload {
	t.Helper()
	w := groupWorkload(t, "at-least-once-sync", 7000, group, "{kind: pause, at: 0.3, for: 5s}")
	w.Topic.Records = 90000
	return w
}

// checkPauseReplays asserts a pause past the session timeout moved the
// member's partitions and replayed what it held, losing nothing.
func checkPauseReplays(t *testing.T, res results.Result) {
	t.Helper()
	s := scenarioOf(t, res)
	if s.Lost != 0 {
		t.Errorf("lost %d records, want 0 under at-least-once", s.Lost)
	}
	if s.Duplicates == 0 {
		t.Error("no duplicate effects: the paused member's uncommitted records were not replayed")
	}
	if ev := s.Events[0]; ev.PartitionsMoved == 0 {
		t.Errorf("no partition moved away from the paused member: %+v", ev)
	}
}

// The exactly-once family in a group: through a rolling restart, with and
// without commit on revoke, every effect lands once and none is lost (a
// database member commits its open transaction at every revoke and clean
// leave, and resumes from the stored offsets).
func TestGroupRollingRestartExactlyOnce(t *testing.T) {
	for _, name := range []string{"exactly-once-db", "idempotent", "transactional", "outbox"} {
		for _, revoke := range []bool{false, true} {
			if revoke && name == "transactional" {
				continue // refused: its transactions commit the offsets
			}
			t.Run(fmt.Sprintf("%s/commit_on_revoke=%v", name, revoke), func(t *testing.T) {
				res := runOne(t, groupWorkload(t, name, 500, fmt.Sprintf("{members: 3, commit_on_revoke: %v}", revoke), "{kind: rolling-restart, at: 0.2}"))
				s := scenarioOf(t, res)
				if s.Lost != 0 || s.Duplicates != 0 {
					t.Errorf("lost %d, duplicated %d effects; want 0 and 0", s.Lost, s.Duplicates)
				}
				if ev := s.Events[0]; ev.Members != 3 || ev.PartitionsAssigned < 6 {
					t.Errorf("restarted %d members, %d partitions handed over; want 3 and 6 or more", ev.Members, ev.PartitionsAssigned)
				}
				// Every hand-over is clean: a revoke waits for the relay's
				// round, a leave drains it, so each event is published once.
				if rl := s.Relay; name == "outbox" && (rl == nil || rl.Missing != 0 || rl.Duplicates != 0 || rl.Published != 30000) {
					t.Errorf("the members' relays: %+v; want 30000 published, none missing, none twice", rl)
				}
			})
		}
	}
}

// zombieWorkload pauses one member at the commit that falls due, past its
// session timeout: it resumes as a zombie straight into that commit, after
// its partitions went to the others, with n records processed and not
// committed.
func zombieWorkload(t *testing.T, strategy string, n int64, sink spec.Sink) *spec.Workload {
	var extra []string
	if sink.Kind != "" {
		extra = append(extra, fmt.Sprintf("sink: {kind: %s, dsn: %q}", sink.Kind, sink.DSN))
	}
	return groupWorkload(t, strategy, n, "{members: 3}", "{kind: pause, at: 0.3, for: 5s, point: commit-due}", extra...)
}

// The zombie's commit is what each strategy must survive: at-least-once
// replays what it held and has the commit rejected; the exactly-once
// family lands every effect once (the stored-offset write is conditional);
// the variant whose offset write is unconditional is caught duplicating.
// The database strategies' cases need PostgreSQL
// (TestGroupZombieCommitOnPostgres): SQLite's one write lock stays with
// the paused member.
func TestGroupZombieCommit(t *testing.T) {
	testZombieCommit(t, spec.Sink{}, "at-least-once-sync", "transactional")
}

func testZombieCommit(t *testing.T, sink spec.Sink, strategies ...string) {
	const n = 2000
	for _, tt := range []struct {
		strategy string
		dups     bool   // the zombie's records replayed as duplicate effects
		rejected string // a commit refused with this failure
	}{
		{"at-least-once-sync", true, ""},
		{"exactly-once-db", false, "STORED_OFFSET_MOVED"},
		{"idempotent", false, ""},
		{"outbox", false, "STORED_OFFSET_MOVED"},
		{"broken-eos-db-open", true, ""},
		{"transactional", false, ""},
	} {
		if !slices.Contains(strategies, tt.strategy) {
			continue
		}
		t.Run(tt.strategy, func(t *testing.T) {
			res := runOne(t, zombieWorkload(t, tt.strategy, n, sink))
			s := scenarioOf(t, res)
			if s.Lost != 0 {
				t.Errorf("lost %d records, want 0", s.Lost)
			}
			ev := s.Events[0]
			if ev.PartitionsMoved == 0 || ev.ZombieRecords == nil {
				t.Fatalf("the paused member was no zombie: %+v", ev)
			}
			// One event: its window's duplicates are the phase's, or part
			// of them where processing is the effect (the group's settling
			// replays before it).
			if ev.Duplicates == nil || *ev.Duplicates < 0 || *ev.Duplicates > s.Duplicates || ev.ReplayedRecords < 0 {
				t.Errorf("the event's duplicates %v and replays %d do not fit the phase's %d duplicates", ev.Duplicates, ev.ReplayedRecords, s.Duplicates)
			}
			switch {
			case tt.dups && s.Duplicates == 0:
				t.Error("no duplicate effects: the zombie's processed, uncommitted records were not replayed")
			case !tt.dups && s.Duplicates != 0:
				t.Errorf("%d duplicate effects, want 0", s.Duplicates)
			}
			if rl := s.Relay; tt.strategy == "outbox" && (rl == nil || rl.Missing != 0) {
				t.Errorf("the members' relays: %+v; want every event published", rl)
			}
			if tt.rejected != "" && s.RejectedCommits[tt.rejected] == 0 {
				t.Errorf("no commit refused with %s: %v", tt.rejected, s.RejectedCommits)
			}
			if v := results.Check(res); tt.strategy == "broken-eos-db-open" && len(v) == 0 {
				t.Error("the unfenced variant's duplicates were not flagged as a breach of its claim")
			} else if tt.strategy != "broken-eos-db-open" && len(v) != 0 {
				t.Errorf("breaches: %v", v)
			}
		})
	}
}
