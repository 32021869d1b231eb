// Package broker starts or connects to the Kafka cluster a run measures and
// describes it, so every result says which broker produced it. Providers
// hand back bootstrap addresses; nothing else in commitbench knows how a
// broker came to be.
package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/spec"
)

// Broker is a running (or reachable) cluster.
type Broker interface {
	// Addrs are the bootstrap addresses.
	Addrs() []string
	// Describe says what the broker is.
	Describe() cluster.Description
	// Close stops the broker if the provider started it.
	Close() error
}

// Options configure a provider.
type Options struct {
	// CommitDelay holds each OffsetCommit, TxnOffsetCommit and EndTxn this
	// long (embedded only).
	CommitDelay time.Duration
	// GroupCommitDelays overrides CommitDelay for the groups (and
	// transactional ids) that start with a prefix (embedded only): the two
	// sides of an A/B run share one broker but not one delay.
	GroupCommitDelays map[string]time.Duration
	// Nodes is the number of broker nodes (local only): 1, or 3 for
	// replicated offsets; 0 means $COMMITBENCH_KAFKA_NODES, else 1.
	Nodes int
	// Local configures the local provider (real Kafka on loopback).
	Local LocalOptions
	// Container configures the container provider (real Kafka in a container).
	Container ContainerOptions
	// Conn reaches an external cluster.
	Conn cluster.Conn
}

// Start starts or connects to a broker of the given kind.
func Start(ctx context.Context, kind string, o Options) (Broker, error) {
	switch kind {
	case "embedded":
		return StartEmbedded(o)
	case "local":
		b, err := StartLocal(ctx, o)
		if err != nil {
			return nil, err
		}
		return b, nil
	case "container":
		b, err := StartContainer(ctx, o.Container)
		if err != nil {
			return nil, err
		}
		return b, nil
	case "external":
		return ConnectExternal(ctx, o.Conn)
	}
	return nil, fmt.Errorf("broker kind %q is not available; use embedded, local, container or external", kind)
}

// CPUMeter is a broker that can tell how much CPU time its processes have
// used, so the broker's share of a commit strategy's cost is measured.
type CPUMeter interface {
	// CPUSeconds is the user and system CPU time used so far.
	CPUSeconds() (float64, error)
}

// NodeRestarter is a broker whose nodes the harness can stop and start
// again (local): the broker-restart fault.
type NodeRestarter interface {
	// StopNode stops node id (from 1): SIGKILL, or a controlled shutdown
	// (SIGTERM) when clean; it returns once the process is gone.
	StopNode(ctx context.Context, id int, clean bool) error
	// StartNode starts the node again on its data and returns once the
	// cluster answers again.
	StartNode(ctx context.Context, id int) error
}

// CommitFaulter is a broker that can answer commit requests with an error
// in place of its answer (embedded): the commit-errors fault.
type CommitFaulter interface {
	// FailCommits fails the next count requests of the kinds named (of
	// spec.CommitRequests) with the error named (of spec.CommitErrors);
	// hits reports how many it failed, remove drops what is left.
	FailCommits(requests []string, errName string, count int) (hits func() int64, remove func(), err error)
}

// OptionsOf are the provider options a workload's broker section asks for
// (its commit delay, node count and connection).
func OptionsOf(b spec.Broker) Options {
	return Options{CommitDelay: b.CommitDelay.D(), Nodes: b.Nodes, Conn: b.Conn()}
}
