package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const valid = `
name: t
topic: {partitions: 2, records: 1000}
strategies: [none, at-least-once-sync, autocommit, at-most-once]
intervals: [{records: 100}, {every: 1s}, {records: 10, every: 50ms}]
repetitions: 2
`

func TestParseDefaultsAndPlan(t *testing.T) {
	w, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if w.WarmupRecords != 100 || w.Client.MaxPollRecords != 500 || !w.Client.Static() || w.Broker.Kind != "embedded" {
		t.Errorf("defaults not applied: %+v", w)
	}
	points, skips := w.Plan()
	// none: 1; sync: 3; autocommit: the time interval only; at-most-once:
	// the count interval only. Two repetitions each.
	if want := 2 * (1 + 3 + 1 + 1); len(points) != want {
		t.Fatalf("%d points, want %d: %+v", len(points), want, points)
	}
	if len(skips) != 4 {
		t.Errorf("%d skips, want 4: %+v", len(skips), skips)
	}
	if points[0].Repetition != 1 || points[len(points)-1].Repetition != 2 {
		t.Errorf("repetitions are not the outer loop")
	}
	if points[1].Key != "t/at-least-once-sync/100rec" || points[1].Key != points[1+len(points)/2].Key {
		t.Errorf("keys do not pair repetitions: %q, %q", points[1].Key, points[1+len(points)/2].Key)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name, yaml, field, fix string
	}{
		{"malformed", "topic: [", "", "malformed YAML"},
		{"empty", "", "", "empty"},
		{"unknown field", valid + "\nfoo: 1\n", "", `line 8: unknown field "foo"`},
		{"unknown nested field", strings.Replace(valid, "partitions: 2", "partitons: 2", 1), "", "partitons"},
		{"unknown strategy", strings.Replace(valid, "autocommit,", "autocomit,", 1), "strategies[2]", "known strategies"},
		{"zero interval", strings.Replace(valid, "{records: 100}", "{records: 0}", 1), "intervals[0]", "set records (> 0), every (> 0) or both"},
		{"negative interval", strings.Replace(valid, "{records: 100}", "{records: -5}", 1), "intervals[0].records", "positive"},
		{"interval above records", strings.Replace(valid, "{records: 100}", "{records: 5000}", 1), "intervals[0].records", "raise topic.records"},
		{"time interval too short", strings.Replace(valid, "{every: 1s}", "{every: 1ms}", 1), "intervals[1].every", `"10ms" to "60s"`},
		{"bare number duration", strings.Replace(valid, "{every: 1s}", "{every: 5}", 1), "", "not a duration"},
		{"negative latency", valid + "network: {latency: -1ms}\n", "network.latency", `"3ms"`},
		{"latency without a unit", valid + "network: {latency: 3}\n", "", "not a duration"},
		{"sub-millisecond latency", valid + "network: {latency: 1500us}\n", "network.latency", "use 1ms or 2ms"},
		{"jitter above latency", valid + "network: {latency: 1ms, jitter: 2ms}\n", "network.jitter", "at or below the latency"},
		{"negative bandwidth", valid + "network: {bandwidth_kbps: -1}\n", "network.bandwidth_kbps", "no cap"},
		{"kill point a strategy never passes", valid + "crashes: {per_point: 1, kill_point: {point: db-committed, occurrence: 1}}\n", "crashes.kill_point.point", "use one of"},
		{"kill point occurrence zero", strings.Replace(valid, "none, ", "", 1) + "crashes: {per_point: 1, kill_point: {point: processed, occurrence: 0}}\n", "crashes.kill_point.occurrence", "from 1"},
		{"autocommit below kgo's floor", strings.Replace(strings.Replace(valid, "{every: 1s}", "{every: 50ms}", 1), "{records: 10, every: 50ms}", "{records: 10}", 1), "strategies[2]", "100ms"},
		{"unknown broker", valid + "broker: {kind: kafka9}\n", "broker.kind", "embedded"},
		{"commit delay on a real broker", valid + "broker: {kind: local, commit_delay: 2ms}\n", "broker.commit_delay", "kind: embedded"},
		{"no strategies", strings.Replace(valid, "strategies: [none, at-least-once-sync, autocommit, at-most-once]", "strategies: []", 1), "strategies", "list at least one"},
		{"strategy without a fitting interval", strings.Replace(strings.Replace(valid, "autocommit, at-most-once", "autocommit", 1), "intervals: [{records: 100}, {every: 1s}, {records: 10, every: 50ms}]", "intervals: [{records: 100}]", 1), "strategies[2]", "commits by time only"},
		{"warm-up too long", valid + "warmup_records: 1000\n", "warmup_records", "less than topic.records"},
		{"bad compression", valid + "client: {compression: brotli}\n", "client.compression", "zstd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *spec.Error", err)
			}
			if se.Field != c.field {
				t.Errorf("field %q, want %q (%v)", se.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), c.fix) {
				t.Errorf("error %q does not mention %q", err, c.fix)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(valid, "name: t\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "mine" {
		t.Errorf("name %q, want the file's", w.Name)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("topic: {records: -1}\nstrategies: [none]\n"), 0o644)
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": topic.records") {
		t.Errorf("error %v does not start with the file and field", err)
	}
}

// Every shipped workload is valid.
func TestShippedWorkloads(t *testing.T) {
	files, _ := filepath.Glob("../../workloads/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d workloads", len(files))
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Error(err)
		}
	}
}

// Group and event problems name the field and the fix, before anything runs.
func TestGroupValidation(t *testing.T) {
	base := "name: g\ntopic: {partitions: 4, records: 1000}\nstrategies: [at-least-once-sync]\nintervals: [{records: 100}]\nclient: {session_timeout: 2s}\n"
	for _, tt := range []struct{ name, yaml, field, fix, strategy string }{
		{"too many members", "groups: [{members: 65}]\n", "groups[0].members", "1 to 64", ""},
		{"no members", "groups: [{members: -1}]\n", "groups[0].members", "1 to 64", ""},
		{"unknown protocol", "groups: [{protocol: eager}]\n", "groups[0].protocol", "classic or consumer", ""},
		{"cooperative under KIP-848", "groups: [{protocol: consumer, balancer: cooperative-sticky}]\n", "groups[0].balancer", "range or sticky", ""},
		{"short pause", "groups: [{members: 2}]\nevents: [{kind: pause, at: 0.5, for: 1s}]\n", "events[0].for", "pause for longer", ""},
		{"short pause under KIP-848", "groups: [{members: 2, protocol: consumer, session_timeout: 3s}]\nevents: [{kind: pause, at: 0.5, for: 3s}]\n", "events[0].for", "pause for longer", ""},
		{"events out of order", "groups: [{members: 2}]\nevents: [{kind: kill, at: 0.5}, {kind: kill, at: 0.2}]\n", "events[1].at", "in the order", ""},
		{"scale in to nobody", "groups: [{members: 2}]\nevents: [{kind: scale-in, at: 0.5, members: 2}]\n", "events[0].members", "at least one", ""},
		{"kill more than there are", "groups: [{members: 2}]\nevents: [{kind: kill, at: 0.5, members: 3}]\n", "events[0].members", "at most as many", ""},
		{"scale out past 64", "groups: [{members: 60}]\nevents: [{kind: scale-out, at: 0.5, members: 5}]\n", "events[0].members", "64 members or fewer", ""},
		{"events without a group", "events: [{kind: kill, at: 0.5}]\n", "events", "add groups", ""},
		{"crash phase with a group", "groups: [{members: 2}]\ncrashes: {per_point: 1}\n", "crashes.per_point", "events", ""},
		{"unknown event", "groups: [{members: 2}]\nevents: [{kind: reboot, at: 0.5}]\n", "events[0].kind", "rolling-restart", ""},
		{"strategy that cannot run in a group", "groups: [{members: 2}]\n", "strategies[0]", "these can", "broken-eos-db-split"},
		{"transactional with commit on revoke", "groups: [{members: 2, commit_on_revoke: true}]\n", "groups[0].commit_on_revoke", "set it to false", "transactional"},
		{"transactional member killed for good", "groups: [{members: 2}]\nevents: [{kind: kill, at: 0.5, replace: false}]\n", "events[0].replace", "replace killed members", "transactional"},
		{"pause of a database member on SQLite", "groups: [{members: 2}]\nevents: [{kind: pause, at: 0.5, for: 5s}]\n", "events[0].kind", "kind: postgres", "exactly-once-db"},
		{"unknown pause point", "groups: [{members: 2}]\nevents: [{kind: pause, at: 0.5, for: 5s, point: commit-sent}]\n", "events[0].point", "commit-due", ""},
		{"a point on a kill", "groups: [{members: 2}]\nevents: [{kind: kill, at: 0.5, point: commit-due}]\n", "events[0].point", "remove it", ""},
		{"pause point without commits of its own", "groups: [{members: 2}]\nevents: [{kind: pause, at: 0.5, for: 5s, point: commit-due}]\n", "events[0].point", "pause at once", "none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := base + tt.yaml
			if tt.strategy != "" {
				doc = strings.Replace(doc, "at-least-once-sync", tt.strategy, 1)
			}
			_, err := Parse([]byte(doc))
			var se *Error
			if !errors.As(err, &se) || se.Field != tt.field || !strings.Contains(err.Error(), tt.fix) {
				t.Errorf("error %v, want one on %s mentioning %q", err, tt.field, tt.fix)
			}
		})
	}
	w, err := Parse([]byte(base + "groups: [{members: 3}, {name: kip, protocol: consumer}]\nevents: [{kind: rolling-restart, at: 0.2}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	pts, _ := w.Plan()
	if len(pts) != 2 || pts[0].Key != "g/at-least-once-sync/100rec/classic-cooperative-sticky" || pts[1].Key != "g/at-least-once-sync/100rec/kip" || pts[1].Group.Balancer != "range" {
		t.Errorf("points %+v", pts)
	}
}

func TestFaultValidation(t *testing.T) {
	base := "name: f\ntopic: {partitions: 4, records: 1000}\nstrategies: [at-least-once-sync]\nintervals: [{records: 100}]\nclient: {session_timeout: 2s}\n"
	for _, tt := range []struct{ name, yaml, field, fix string }{
		{"unknown fault", "faults: [{kind: flood, at: 0.5}]\n", "faults[0].kind", "partition, broker-restart, commit-errors, leader-move"},
		{"partition without a duration", "faults: [{kind: partition, at: 0.5}]\n", "faults[0].for", "its duration"},
		{"negative duration", "faults: [{kind: partition, at: 0.5, for: -1s}]\n", "faults[0].for", "3s"},
		{"at out of range", "faults: [{kind: partition, at: 1, for: 1s}]\n", "faults[0].at", "below 1"},
		{"faults out of order", "faults: [{kind: partition, at: 0.5, for: 1s}, {kind: partition, at: 0.2, for: 1s}]\n", "faults[1].at", "in the order"},
		{"fault and event at once", "groups: [{members: 2}]\nevents: [{kind: kill, at: 0.5}]\nfaults: [{kind: partition, at: 0.5, for: 1s}]\n", "faults[0].at", "a share of its own"},
		{"broker restart of the embedded broker", "faults: [{kind: broker-restart, at: 0.5, for: 2s}]\n", "faults[0].kind", "broker kind local"},
		{"broker restart of an external broker", "broker: {kind: external, bootstrap: [\"127.0.0.1:9092\"]}\nfaults: [{kind: broker-restart, at: 0.5, for: 2s}]\n", "faults[0].kind", "broker kind local"},
		{"broker no node", "broker: {kind: local, nodes: 3}\nfaults: [{kind: broker-restart, at: 0.5, for: 2s, broker: \"4\"}]\n", "faults[0].broker", "1 to 3"},
		{"broker named oddly", "broker: {kind: local}\nfaults: [{kind: broker-restart, at: 0.5, for: 2s, broker: leader}]\n", "faults[0].broker", "coordinator"},
		{"commit errors on real Kafka", "broker: {kind: local}\nfaults: [{kind: commit-errors, at: 0.5}]\n", "faults[0].kind", "broker kind embedded"},
		{"commit errors of an unknown request", "faults: [{kind: commit-errors, at: 0.5, requests: [Produce]}]\n", "faults[0].requests[0]", "OffsetCommit"},
		{"commit errors with an unknown error", "faults: [{kind: commit-errors, at: 0.5, error: OFFSET_OUT_OF_RANGE}]\n", "faults[0].error", "NOT_COORDINATOR"},
		{"commit errors that last", "faults: [{kind: commit-errors, at: 0.5, for: 2s}]\n", "faults[0].for", "set count"},
		{"leader move on the embedded broker", "faults: [{kind: leader-move, at: 0.5}]\n", "faults[0].kind", "nodes: 3"},
		{"leader move on one local node", "broker: {kind: local, nodes: 1}\nfaults: [{kind: leader-move, at: 0.5}]\n", "faults[0].kind", "broker.nodes: 3"},
		{"leader move that lasts", "broker: {kind: local, nodes: 3}\nfaults: [{kind: leader-move, at: 0.5, for: 2s}]\n", "faults[0].for", "remove it"},
		{"leader move of something else", "broker: {kind: local, nodes: 3}\nfaults: [{kind: leader-move, at: 0.5, of: controller}]\n", "faults[0].of", "coordinator"},
		{"a partition of no known mode", "faults: [{kind: partition, at: 0.5, for: 2s, mode: drop}]\n", "faults[0].mode", "stall"},
		{"a mode for a commit error", "faults: [{kind: commit-errors, at: 0.5, mode: stall}]\n", "faults[0].mode", "remove it"},
		{"a partition that moves", "faults: [{kind: partition, at: 0.5, for: 2s, of: topic}]\n", "faults[0].of", "remove it"},
		{"count on a partition", "faults: [{kind: partition, at: 0.5, for: 2s, count: 3}]\n", "faults[0]", "remove them"},
		{"faults with a crash phase", "crashes: {per_point: 1}\nfaults: [{kind: partition, at: 0.5, for: 2s}]\n", "crashes.per_point", "set it to 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.yaml))
			var se *Error
			if !errors.As(err, &se) || se.Field != tt.field || !strings.Contains(err.Error(), tt.fix) {
				t.Errorf("error %v, want one on %s mentioning %q", err, tt.field, tt.fix)
			}
		})
	}
	// Faults without a group of their own get one member; a
	// commit-errors fault its defaults.
	w, err := Parse([]byte(base + "faults: [{kind: commit-errors, at: 0.3}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Groups) != 1 || w.Groups[0].Members != 1 {
		t.Errorf("groups %+v, want one of one member", w.Groups)
	}
	if f := w.Faults[0]; f.Error != "NOT_COORDINATOR" || f.Count != 3 || len(f.Requests) != 3 {
		t.Errorf("fault defaults %+v", f)
	}
}
