package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/spec"
)

// canFault checks, before the phase's members start, that the run can
// inject fault i: the workload's checks know the broker kind, this the
// broker itself.
func (r *Runner) canFault(i int, f *spec.Fault) error {
	at := fmt.Sprintf("faults[%d]", i)
	switch f.Kind {
	case spec.FaultPartition:
		if r.proxy == nil {
			return fmt.Errorf("%s: a partition cuts the clients' connections through the network proxy, and none was started", at)
		}
	case spec.FaultBrokerRestart:
		if _, ok := r.b.(broker.NodeRestarter); !ok {
			return fmt.Errorf("%s: broker %s cannot stop and start its nodes: use broker kind local", at, r.b.Describe().Kind)
		}
	case spec.FaultCommitErrors:
		if _, ok := r.b.(broker.CommitFaulter); !ok {
			return fmt.Errorf("%s: broker %s cannot answer commits with errors: use broker kind embedded", at, r.b.Describe().Kind)
		}
	case spec.FaultLeaderMove:
		if d := r.b.Describe(); d.Kind == "embedded" || d.Brokers == 1 {
			return fmt.Errorf("%s: a leader-move needs another node to lead, and broker %s has %d: use broker kind local with nodes: 3, or a cluster of several", at, d.Kind, d.Brokers)
		}
	}
	return nil
}

// planFault turns a fault into its steps. Work that blocks (stopping and
// starting a broker) runs off the loop, so frames and the no-progress
// sampling go on meanwhile.
func (sc *scenarioRun) planFault(ctx context.Context, ev *eventState) []step {
	f := ev.fault
	var at time.Time
	lasted := func() bool { return time.Since(at) >= f.For.D() }
	healed := func() { ev.healedAt = time.Now().UnixNano() }
	switch f.Kind {
	case spec.FaultPartition:
		return []step{
			{act: func() error {
				at = time.Now()
				if f.Mode == spec.PartitionStall {
					return sc.r.proxy.Stall()
				}
				sc.r.proxy.Cut()
				return nil
			}, done: lasted},
			{act: func() error { healed(); return sc.r.proxy.Heal() }, done: func() bool { return true }},
		}
	case spec.FaultBrokerRestart:
		nodes := sc.r.b.(broker.NodeRestarter)
		node := f.BrokerNode()
		return []step{
			sc.async(func() error {
				if node == 0 {
					var err error
					if node, err = sc.coordinator(ctx); err != nil {
						return err
					}
				}
				fmt.Fprintf(sc.r.log, "%s rep %d: stopping broker node %d (clean: %v)\n", sc.p.Key, sc.p.Repetition, node, f.Clean)
				at = time.Now()
				return nodes.StopNode(ctx, node, f.Clean)
			}, nil),
			{act: func() error { return nil }, done: lasted},
			sc.async(func() error { return nodes.StartNode(ctx, node) }, healed),
		}
	case spec.FaultLeaderMove:
		// moved is the work's, handed to the loop by async's then.
		moved := 0
		return []step{sc.async(func() error {
			if f.Of == spec.MoveCoordinator {
				from, to, err := broker.MoveCoordinator(ctx, sc.r.admCl, sc.ph.cfg.Group)
				if err != nil {
					return err
				}
				fmt.Fprintf(sc.r.log, "%s rep %d: moved the coordinator of group %s from node %d to %d\n", sc.p.Key, sc.p.Repetition, sc.ph.cfg.Group, from, to)
				if from != to {
					moved = 1
				}
				return nil
			}
			var err error
			moved, err = broker.MoveLeaders(ctx, sc.r.admCl, sc.ph.cfg.Topic)
			return err
		}, func() { ev.leadersMoved = moved })}
	case spec.FaultCommitErrors:
		return []step{{act: func() error {
			var err error
			ev.hits, ev.remove, err = sc.r.b.(broker.CommitFaulter).FailCommits(f.Requests, f.Error, f.Count)
			return err
		}, done: func() bool { return ev.hits() >= int64(f.Count) || sc.consumedAll() }}}
	}
	return nil
}

// async is a step whose work runs in a goroutine, then (if set) on the
// loop once it succeeded; its error ends the phase at the loop's next
// advance.
func (sc *scenarioRun) async(work func() error, then func()) step {
	ch := make(chan error, 1)
	finished := false
	return step{act: func() error {
		go func() { ch <- work() }()
		return nil
	}, done: func() bool {
		if finished {
			return true
		}
		select {
		case err := <-ch:
			finished, sc.asyncErr = true, err
			if err == nil && then != nil {
				then()
			}
			return err == nil
		default:
			return false
		}
	}}
}

// coordinator is the node of the phase's group coordinator: the leader of
// the group's __consumer_offsets partition.
func (sc *scenarioRun) coordinator(ctx context.Context) (int, error) {
	group := sc.ph.cfg.Group
	for _, c := range sc.r.adm.FindGroupCoordinators(ctx, group) {
		if c.Err != nil {
			return 0, fmt.Errorf("finding the coordinator of group %s: %w", group, c.Err)
		}
		return int(c.NodeID), nil
	}
	return 0, fmt.Errorf("finding the coordinator of group %s: no answer", group)
}

// consumedAll reports whether every partition is consumed to its end.
func (sc *scenarioRun) consumedAll() bool {
	for _, pt := range sc.parts {
		if pt.ownerNext < pt.end {
			return false
		}
	}
	return true
}

// removeFaults takes away what is left of the commit-errors faults.
func (sc *scenarioRun) removeFaults() {
	for _, ev := range sc.events {
		if ev.remove != nil {
			ev.remove()
			ev.remove = nil
		}
	}
}
