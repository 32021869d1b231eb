package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/strategy"
)

// MaxMembers is the largest consumer group a point runs: each live member
// publishes its count in a ledger slot of its own.
const MaxMembers = 64

// Group is one consumer-group set-up a workload sweeps: several worker
// processes in one group, how the group balances, and how members hand
// partitions over. A point with a group runs a scenario phase (the group
// consuming the topic while Events happen to it) instead of a crash phase.
type Group struct {
	// Name labels the set-up in keys, tables and figures (default: its
	// protocol and balancer, e.g. "classic-cooperative-sticky").
	Name string `yaml:"name" json:"name"`
	// Members is how many worker processes join the group, 1 to 64.
	Members int `yaml:"members" json:"members"`
	// Protocol is "classic" (client-side balancing, JoinGroup/SyncGroup)
	// or "consumer" (KIP-848, the broker assigns; Kafka ≥ 4.0).
	Protocol string `yaml:"protocol" json:"protocol"`
	// Balancer is range, sticky or cooperative-sticky (classic); range or
	// sticky under the consumer protocol, whose assignor the broker runs.
	Balancer string `yaml:"balancer" json:"balancer"`
	// StaticMembership gives each member a stable instance id (default:
	// client.static_membership), so a restarted member takes its
	// partitions back without a rebalance.
	StaticMembership *bool `yaml:"static_membership" json:"static_membership"`
	// CommitOnRevoke commits what was processed when partitions are
	// revoked (OnPartitionsRevoked), including on a clean close.
	CommitOnRevoke bool `yaml:"commit_on_revoke" json:"commit_on_revoke"`
	// BlockRebalanceOnPoll holds rebalances until the records of a poll
	// are processed (kgo.BlockRebalanceOnPoll).
	BlockRebalanceOnPoll bool `yaml:"block_rebalance_on_poll" json:"block_rebalance_on_poll"`
	// SessionTimeout (default: client.session_timeout) and
	// RebalanceTimeout (default: the session timeout) of the group. Under
	// the consumer protocol the broker keeps the session timeout: the run
	// sets it as the group's consumer.session.timeout.ms (heartbeat a
	// third of it) before the members join.
	SessionTimeout   Duration `yaml:"session_timeout" json:"session_timeout_ns"`
	RebalanceTimeout Duration `yaml:"rebalance_timeout" json:"rebalance_timeout_ns"`
}

// Static reports whether the members have instance ids.
func (g Group) Static() bool { return g.StaticMembership == nil || *g.StaticMembership }

// The group protocols and balancers.
const (
	ProtocolClassic  = "classic"
	ProtocolConsumer = "consumer"
)

var (
	classicBalancers  = []string{"range", "sticky", "cooperative-sticky"}
	consumerBalancers = []string{"range", "sticky"}
)

// The event kinds of a scenario.
const (
	// EventKill SIGKILLs members (replaced by a new process unless
	// replace: false).
	EventKill = "kill"
	// EventRollingRestart stops each member in turn — SIGTERM and a clean
	// close, SIGKILL after grace if set — and starts its replacement.
	EventRollingRestart = "rolling-restart"
	// EventScaleOut adds members; EventScaleIn stops members cleanly.
	EventScaleOut = "scale-out"
	EventScaleIn  = "scale-in"
	// EventPause SIGSTOPs a member for longer than its session timeout,
	// then SIGCONTs it: it goes on with what it had and tries to commit
	// after its partitions moved — a zombie.
	EventPause = "pause"
)

// EventKinds are the kinds an event may have.
var EventKinds = []string{EventKill, EventRollingRestart, EventScaleOut, EventScaleIn, EventPause}

// Event is something that happens to the group during its scenario phase,
// once the group has consumed the At share of the topic.
type Event struct {
	// Kind is one of EventKinds.
	Kind string `yaml:"kind" json:"kind"`
	// At is the share of the topic consumed (replays included) when the
	// event starts, in [0, 1).
	At float64 `yaml:"at" json:"at"`
	// Members is how many members the event affects: killed, added or
	// removed (default 1).
	Members int `yaml:"members" json:"members"`
	// Replace starts a new process for each killed member (default true).
	Replace *bool `yaml:"replace" json:"replace"`
	// Grace bounds a rolling restart's clean close: SIGKILL after it (0:
	// wait for the close).
	Grace Duration `yaml:"grace" json:"grace_ns"`
	// For is how long a pause lasts; it must exceed the session timeout.
	For Duration `yaml:"for" json:"for_ns"`
	// Point, on a pause, stops the member at a named point of its loop
	// rather than at once: strategy.PauseCommitDue, the commit that falls
	// due next, so that it resumes as a zombie straight into that commit.
	Point string `yaml:"point" json:"point,omitempty"`
}

// Replaces reports whether killed members are replaced.
func (e Event) Replaces() bool { return e.Replace == nil || *e.Replace }

// applyGroupDefaults fills in each group's and event's defaults.
func (w *Workload) applyGroupDefaults() {
	for i := range w.Groups {
		g := &w.Groups[i]
		if g.Members == 0 {
			g.Members = 1
		}
		if g.Protocol == "" {
			g.Protocol = ProtocolClassic
		}
		if g.Balancer == "" {
			g.Balancer = "cooperative-sticky"
			if g.Protocol == ProtocolConsumer {
				g.Balancer = "range"
			}
		}
		if g.StaticMembership == nil {
			on := w.Client.Static()
			g.StaticMembership = &on
		}
		if g.SessionTimeout == 0 {
			g.SessionTimeout = w.Client.SessionTimeout
		}
		if g.RebalanceTimeout == 0 {
			g.RebalanceTimeout = g.SessionTimeout
		}
		if g.Name == "" {
			g.Name = g.Protocol + "-" + g.Balancer
		}
	}
	for i := range w.Events {
		if w.Events[i].Members == 0 {
			w.Events[i].Members = 1
		}
	}
}

// validateGroups checks the groups and the scenario's events.
func (w *Workload) validateGroups() error {
	if len(w.Groups) == 0 {
		if len(w.Events) > 0 {
			return bad("events", "events happen to a consumer group, and the workload has none", "add groups: [{members: 3}]")
		}
		return nil
	}
	if w.Crashes.PerPoint > 0 {
		return bad("crashes.per_point", "a workload with groups or faults runs a scenario phase instead of a crash phase", "set it to 0 and add events: [{kind: kill, at: 0.5}]")
	}
	for i, name := range w.Strategies {
		if info, _ := strategy.Lookup(name); !info.Groups {
			return bad(fmt.Sprintf("strategies[%d]", i), fmt.Sprintf("%s cannot run in a group of several members", name),
				"drop it from a workload with groups; these can: "+strings.Join(groupStrategies(), ", "))
		}
	}
	names := map[string]int{}
	for i, g := range w.Groups {
		at := fmt.Sprintf("groups[%d]", i)
		switch {
		case g.Members < 1 || g.Members > MaxMembers:
			return bad(at+".members", fmt.Sprintf("%d is out of range", g.Members), fmt.Sprintf("use 1 to %d", MaxMembers))
		case g.Protocol != ProtocolClassic && g.Protocol != ProtocolConsumer:
			return bad(at+".protocol", fmt.Sprintf("unknown protocol %q", g.Protocol), "use classic or consumer (KIP-848, Kafka 4.0 or later)")
		case g.Protocol == ProtocolClassic && !slices.Contains(classicBalancers, g.Balancer):
			return bad(at+".balancer", fmt.Sprintf("unknown balancer %q", g.Balancer), "use one of: "+strings.Join(classicBalancers, ", "))
		case g.Protocol == ProtocolConsumer && !slices.Contains(consumerBalancers, g.Balancer):
			return bad(at+".balancer", fmt.Sprintf("%q under the consumer protocol: the broker assigns there, and kgo asks it for range or sticky only", g.Balancer), "use range or sticky, or protocol: classic")
		case g.SessionTimeout.D() < time.Second:
			return bad(at+".session_timeout", fmt.Sprintf("%s is too short", g.SessionTimeout), `use at least "1s"`)
		case g.RebalanceTimeout.D() < time.Second:
			return bad(at+".rebalance_timeout", fmt.Sprintf("%s is too short", g.RebalanceTimeout), `use at least "1s"`)
		case g.Name == "" || !topicSafe.MatchString(g.Name):
			return bad(at+".name", fmt.Sprintf("%q is not a label", g.Name), "use letters, digits, '.', '_' and '-'")
		}
		if g.CommitOnRevoke && slices.Contains(w.Strategies, strategy.Transactional) {
			return bad(at+".commit_on_revoke", "transactional commits its offsets in its transactions, and a revoke aborts the open one (franz-go's GroupTransactSession)", "set it to false, or drop transactional")
		}
		if j, dup := names[g.Name]; dup {
			return bad(at+".name", fmt.Sprintf("%q names groups[%d] too", g.Name, j), "give each group its own name")
		}
		names[g.Name] = i
		if err := w.validateEvents(i, g); err != nil {
			return err
		}
	}
	return nil
}

// validateEvents checks the events against one group: what they ask of
// its members, in order.
func (w *Workload) validateEvents(gi int, g Group) error {
	members := g.Members
	last := -1.0
	for i, e := range w.Events {
		at := fmt.Sprintf("events[%d]", i)
		switch {
		case !slices.Contains(EventKinds, e.Kind):
			return bad(at+".kind", fmt.Sprintf("unknown event %q", e.Kind), "use one of: "+strings.Join(EventKinds, ", "))
		case e.At < 0 || e.At >= 1:
			return bad(at+".at", fmt.Sprintf("%g is out of range", e.At), "give the share of the topic consumed when it starts, from 0 to below 1, e.g. 0.3")
		case e.At <= last:
			return bad(at+".at", fmt.Sprintf("%g is not after the event before it (%g)", e.At, last), "list events in the order they happen")
		case e.Members < 1:
			return bad(at+".members", fmt.Sprintf("%d is out of range", e.Members), "use 1 or more")
		case e.Grace < 0:
			return bad(at+".grace", "must not be negative", `use "0s" to wait for the clean close, or e.g. "2s"`)
		}
		last = e.At
		switch e.Kind {
		case EventKill:
			if e.Members > members {
				return bad(at+".members", fmt.Sprintf("kills %d of the %d members groups[%d] has then", e.Members, members, gi), "kill at most as many as there are")
			}
			if !e.Replaces() {
				members -= e.Members
				if slices.Contains(w.Strategies, strategy.Transactional) {
					return bad(at+".replace", "a killed transactional member's open transaction holds the output topic's last stable offset until the transaction timeout (1 minute) unless a replacement takes its transactional id over", "replace killed members, or drop transactional")
				}
			}
		case EventScaleOut:
			members += e.Members
			if members > MaxMembers {
				return bad(at+".members", fmt.Sprintf("groups[%d] would have %d members", gi, members), fmt.Sprintf("keep the group at %d members or fewer", MaxMembers))
			}
		case EventScaleIn:
			if e.Members >= members {
				return bad(at+".members", fmt.Sprintf("removes %d of the %d members groups[%d] has then; none would be left", e.Members, members, gi), "leave at least one member")
			}
			members -= e.Members
		case EventPause:
			if i, ok := w.sqliteWriter(); ok {
				return bad(at+".kind", fmt.Sprintf("a pause under strategies[%d] on sink sqlite: SQLite has one writer, so the paused member's open transaction holds the write lock for the whole pause and the other members' writes time out (busy_timeout 10s)", i),
					"use sink: {kind: postgres, dsn: ...}, or drop the pause")
			}
			if e.For <= g.SessionTimeout {
				return bad(at+".for", fmt.Sprintf("%s does not exceed groups[%d].session_timeout (%s), so the member would not lose its partitions", e.For, gi, g.SessionTimeout),
					fmt.Sprintf("pause for longer, e.g. %s", 2*g.SessionTimeout.D()))
			}
		}
		if e.Kind != EventPause && e.For != 0 {
			return bad(at+".for", "only a pause lasts", "remove it")
		}
		if err := w.validatePausePoint(at, e); err != nil {
			return err
		}
	}
	if members < 1 {
		return bad("events", fmt.Sprintf("groups[%d] has no member left after the kills", gi), "replace killed members, or kill fewer")
	}
	return nil
}

// validatePausePoint checks an event's point: only a pause has one, and
// every strategy of the workload must pass it.
func (w *Workload) validatePausePoint(at string, e Event) error {
	if e.Point == "" {
		return nil
	}
	if e.Kind != EventPause {
		return bad(at+".point", "only a pause stops at a point", "remove it")
	}
	if e.Point != strategy.PauseCommitDue {
		return bad(at+".point", fmt.Sprintf("unknown pause point %q", e.Point), fmt.Sprintf("use %s, or leave it out to pause at once", strategy.PauseCommitDue))
	}
	for i, name := range w.Strategies {
		if info, _ := strategy.Lookup(name); !info.CommitDue {
			return bad(at+".point", fmt.Sprintf("strategies[%d] (%s) makes no commit of its own for a pause to wait for", i, name),
				"leave the point out to pause at once, or drop the strategy")
		}
	}
	return nil
}

// sqliteWriter returns the first strategy that writes to the sink when
// the sink is SQLite.
func (w *Workload) sqliteWriter() (int, bool) {
	if w.Sink.Kind != "sqlite" {
		return 0, false
	}
	for i, name := range w.Strategies {
		if info, _ := strategy.Lookup(name); info.Effects == strategy.EffectsDB {
			return i, true
		}
	}
	return 0, false
}

// groupStrategies lists the strategies that run in groups.
func groupStrategies() []string {
	var out []string
	for _, n := range strategy.Names() {
		if i, _ := strategy.Lookup(n); i.Groups {
			out = append(out, n)
		}
	}
	return out
}
