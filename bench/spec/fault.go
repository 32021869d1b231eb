package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The fault kinds of a scenario.
const (
	// FaultPartition cuts the clients off the cluster for a while, in one
	// of two modes: reset (every connection through the network proxy is
	// reset and new ones are refused until it heals) or stall (every
	// connection stays open and passes nothing until it heals, then what
	// it held). Every broker kind.
	FaultPartition = "partition"
	// FaultBrokerRestart SIGKILLs a broker node, keeps it down for a while
	// and starts it again on its data (local only).
	FaultBrokerRestart = "broker-restart"
	// FaultCommitErrors answers the next commit requests with an error
	// in place of the broker's answer (embedded only: kfake's faults).
	FaultCommitErrors = "commit-errors"
	// FaultLeaderMove moves leaderships to other replicas on a live
	// cluster, as a reassignment or preferred-leader balancing does: the
	// consumed topic's partitions' leaders, or (of: coordinator) the
	// group's coordinator. No node stops. Real brokers whose partitions
	// have more than one replica (local with 3 nodes, external).
	FaultLeaderMove = "leader-move"
)

// FaultKinds are the kinds a fault may have.
var FaultKinds = []string{FaultPartition, FaultBrokerRestart, FaultCommitErrors, FaultLeaderMove}

// How a partition fault fails the network.
const (
	// PartitionReset resets every connection and refuses new ones.
	PartitionReset = "reset"
	// PartitionStall holds every byte, keeping connections open.
	PartitionStall = "stall"
)

// What a leader-move fault moves.
const (
	// MoveTopic moves the leader of every partition of the consumed topic.
	MoveTopic = "topic"
	// MoveCoordinator moves the group's coordinator: the leader of the
	// group's __consumer_offsets partition.
	MoveCoordinator = "coordinator"
)

// CommitRequests are the requests a commit-errors fault can fail.
var CommitRequests = []string{"OffsetCommit", "TxnOffsetCommit", "EndTxn"}

// CommitErrors are the errors a commit-errors fault can answer with: the
// ones a coordinator move or a rebalance makes a real broker answer.
var CommitErrors = []string{"NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS", "REBALANCE_IN_PROGRESS", "REQUEST_TIMED_OUT"}

// BrokerCoordinator names the broker a broker-restart fault picks by
// default: the group coordinator's (the leader of the group's
// __consumer_offsets partition) when it starts.
const BrokerCoordinator = "coordinator"

// Fault is something that goes wrong under the group during its scenario
// phase, placed on the same schedule as the events (by At), so faults and
// group events combine.
type Fault struct {
	// Kind is one of FaultKinds.
	Kind string `yaml:"kind" json:"kind"`
	// At is the share of the topic consumed (replays included) when the
	// fault starts, in [0, 1).
	At float64 `yaml:"at" json:"at"`
	// For is how long a partition or a broker's downtime lasts.
	For Duration `yaml:"for" json:"for_ns,omitempty"`
	// Broker is which node a broker-restart stops: "coordinator"
	// (default) or a node number from 1.
	Broker string `yaml:"broker" json:"broker,omitempty"`
	// Clean makes a broker-restart a controlled shutdown (SIGTERM: the
	// node hands its leaderships and coordinators over first) rather
	// than a SIGKILL.
	Clean bool `yaml:"clean" json:"clean,omitempty"`
	// Requests are the requests a commit-errors fault fails (default:
	// all of CommitRequests).
	Requests []string `yaml:"requests" json:"requests,omitempty"`
	// Error is the commit-errors fault's answer (default NOT_COORDINATOR).
	Error string `yaml:"error" json:"error,omitempty"`
	// Count is how many requests a commit-errors fault fails (default 3).
	Count int `yaml:"count" json:"count,omitempty"`
	// Of is what a leader-move fault moves: MoveTopic (default) or
	// MoveCoordinator.
	Of string `yaml:"of" json:"of,omitempty"`
	// Mode is how a partition fails the network: PartitionReset
	// (default) or PartitionStall.
	Mode string `yaml:"mode" json:"mode,omitempty"`
}

// Variant tells faults of one kind apart where they differ in what they
// do: a partition's mode, a broker-restart's stop (clean or kill), what a
// leader-move moves, a commit-errors fault's error. A fault table keeps
// one row per kind and variant.
func (f Fault) Variant() string {
	switch f.Kind {
	case FaultPartition:
		return f.Mode
	case FaultBrokerRestart:
		if f.Clean {
			return "clean"
		}
		return "kill"
	case FaultLeaderMove:
		return f.Of
	case FaultCommitErrors:
		return f.Error
	}
	return ""
}

// BrokerNode is the node number a broker-restart names, 0 for the group
// coordinator's.
func (f Fault) BrokerNode() int {
	n, _ := strconv.Atoi(f.Broker)
	return n
}

// applyFaultDefaults fills in each fault's defaults. Faults happen to a
// group: a workload with faults and no group gets one of one member.
func (w *Workload) applyFaultDefaults() {
	if len(w.Faults) > 0 && len(w.Groups) == 0 {
		w.Groups = []Group{{}}
	}
	for i := range w.Faults {
		f := &w.Faults[i]
		switch f.Kind {
		case FaultBrokerRestart:
			if f.Broker == "" {
				f.Broker = BrokerCoordinator
			}
		case FaultLeaderMove:
			if f.Of == "" {
				f.Of = MoveTopic
			}
		case FaultPartition:
			if f.Mode == "" {
				f.Mode = PartitionReset
			}
		case FaultCommitErrors:
			if len(f.Requests) == 0 {
				f.Requests = slices.Clone(CommitRequests)
			}
			if f.Error == "" {
				f.Error = "NOT_COORDINATOR"
			}
			if f.Count == 0 {
				f.Count = 3
			}
		}
	}
}

// validateFaults checks the faults against the broker kind: each kind
// needs what it breaks to be the harness's to break.
func (w *Workload) validateFaults() error {
	last := -1.0
	for i, f := range w.Faults {
		at := fmt.Sprintf("faults[%d]", i)
		switch {
		case !slices.Contains(FaultKinds, f.Kind):
			return bad(at+".kind", fmt.Sprintf("unknown fault %q", f.Kind), "use one of: "+strings.Join(FaultKinds, ", "))
		case f.At < 0 || f.At >= 1:
			return bad(at+".at", fmt.Sprintf("%g is out of range", f.At), "give the share of the topic consumed when it starts, from 0 to below 1, e.g. 0.3")
		case f.At <= last:
			return bad(at+".at", fmt.Sprintf("%g is not after the fault before it (%g)", f.At, last), "list faults in the order they happen")
		case slices.ContainsFunc(w.Events, func(e Event) bool { return e.At == f.At }):
			return bad(at+".at", fmt.Sprintf("an event starts at %g too", f.At), "give the fault a share of its own, so each window is one thing's")
		case f.For < 0:
			return bad(at+".for", "must not be negative", `give a duration such as "3s"`)
		}
		last = f.At
		lasts := f.Kind == FaultPartition || f.Kind == FaultBrokerRestart
		switch {
		case lasts && f.For == 0:
			return bad(at+".for", fmt.Sprintf("a %s lasts a while", f.Kind), `give its duration, e.g. for: "3s"`)
		case f.Kind == FaultLeaderMove && f.For != 0:
			return bad(at+".for", "a leader-move does not last: the leaders stay where they moved", "remove it")
		case !lasts && f.For != 0:
			return bad(at+".for", fmt.Sprintf("a %s does not last: it fails its count of requests", f.Kind), "remove it, and set count")
		case f.Kind != FaultBrokerRestart && (f.Broker != "" || f.Clean):
			return bad(at+".broker", "only a broker-restart names a broker and how it stops", "remove broker and clean")
		case f.Kind != FaultCommitErrors && (len(f.Requests) > 0 || f.Error != "" || f.Count != 0):
			return bad(at, fmt.Sprintf("requests, error and count are a commit-errors fault's, not a %s's", f.Kind), "remove them")
		case f.Kind != FaultLeaderMove && f.Of != "":
			return bad(at+".of", fmt.Sprintf("only a leader-move moves something, not a %s", f.Kind), "remove it")
		case f.Kind != FaultPartition && f.Mode != "":
			return bad(at+".mode", fmt.Sprintf("only a partition has a mode, not a %s", f.Kind), "remove it")
		case f.Kind == FaultPartition && f.Mode != PartitionReset && f.Mode != PartitionStall:
			return bad(at+".mode", fmt.Sprintf("unknown mode %q", f.Mode), fmt.Sprintf("use %s (connections reset, new ones refused) or %s (connections held open, passing nothing)", PartitionReset, PartitionStall))
		}
		switch f.Kind {
		case FaultBrokerRestart:
			if w.Broker.Kind != "local" {
				return bad(at+".kind", fmt.Sprintf("a broker-restart kills a broker process, and the %s broker's is not the harness's", w.Broker.Kind),
					"use broker kind local, or a partition, which every broker kind can have")
			}
			n, err := strconv.Atoi(f.Broker)
			switch {
			case f.Broker == BrokerCoordinator:
			case err != nil || n < 1:
				return bad(at+".broker", fmt.Sprintf("%q is no broker", f.Broker), `use "coordinator" or a node number from 1`)
			case w.Broker.Nodes > 0 && n > w.Broker.Nodes:
				return bad(at+".broker", fmt.Sprintf("node %d of %d", n, w.Broker.Nodes), fmt.Sprintf("use 1 to %d, or \"coordinator\"", w.Broker.Nodes))
			}
		case FaultLeaderMove:
			switch {
			case f.Of != MoveTopic && f.Of != MoveCoordinator:
				return bad(at+".of", fmt.Sprintf("cannot move %q", f.Of), fmt.Sprintf("use %s (the consumed topic's leaders) or %s (the group's coordinator)", MoveTopic, MoveCoordinator))
			case w.Broker.Kind == "embedded" || w.Broker.Kind == "container":
				return bad(at+".kind", fmt.Sprintf("a leader-move needs partitions with more than one replica, and the %s broker has one node", w.Broker.Kind),
					"use broker kind local with nodes: 3, or an external cluster")
			case w.Broker.Kind == "local" && w.Broker.Nodes == 1:
				return bad(at+".kind", "a leader-move needs partitions with more than one replica, and the local broker runs one node", "set broker.nodes: 3 (or --nodes 3)")
			}
		case FaultCommitErrors:
			if w.Broker.Kind != "embedded" {
				return bad(at+".kind", fmt.Sprintf("commit errors are injected by the embedded broker (kfake's faults), not the %s one", w.Broker.Kind),
					"use broker kind embedded, or a partition or broker-restart on a real broker")
			}
			for j, r := range f.Requests {
				if !slices.Contains(CommitRequests, r) {
					return bad(fmt.Sprintf("%s.requests[%d]", at, j), fmt.Sprintf("unknown request %q", r), "use one of: "+strings.Join(CommitRequests, ", "))
				}
			}
			if !slices.Contains(CommitErrors, f.Error) {
				return bad(at+".error", fmt.Sprintf("unknown or unsupported error %q", f.Error), "use one of: "+strings.Join(CommitErrors, ", "))
			}
			if f.Count < 1 || f.Count > 10000 {
				return bad(at+".count", fmt.Sprintf("%d is out of range", f.Count), "fail 1 to 10000 requests")
			}
		}
	}
	return nil
}

// Scheduled is one entry of a scenario's schedule: an event or a fault.
type Scheduled struct {
	At    float64
	Kind  string
	Event *Event // nil for a fault
	Fault *Fault // nil for an event
}

// Schedule is events and faults in the order they happen, by At (never
// shared: validateFaults), events first where a caller's were not
// checked. It is the one merge of the two lists: the run and the
// summaries read it.
func Schedule(events []Event, faults []Fault) []Scheduled {
	out := make([]Scheduled, 0, len(events)+len(faults))
	for i := range events {
		out = append(out, Scheduled{At: events[i].At, Kind: events[i].Kind, Event: &events[i]})
	}
	for i := range faults {
		out = append(out, Scheduled{At: faults[i].At, Kind: faults[i].Kind, Fault: &faults[i]})
	}
	slices.SortStableFunc(out, func(a, b Scheduled) int { return cmp.Compare(a.At, b.At) })
	return out
}
