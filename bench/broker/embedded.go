package broker

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/buildinfo"
	"github.com/commitbench/commitbench/bench/cluster"
)

// delayedRequests are the requests that commit offsets or a transaction: a
// remote cluster costs each of them a round trip. The exactly-once-db and
// outbox strategies commit to their database, which is not delayed; the
// description says which requests were.
var delayedRequests = []kmsg.Key{kmsg.OffsetCommit, kmsg.TxnOffsetCommit, kmsg.EndTxn}

// Embedded is franz-go's kfake running in this process on loopback. It is
// a fake: an in-memory log whose commits cost microseconds, not the
// milliseconds of a replicated Kafka write, and its results say so.
type Embedded struct {
	c    *kfake.Cluster
	desc cluster.Description
}

// FakeGroupOpts are the kfake options that let a workload's groups time
// out in seconds, as groupTimeoutFloors does for Kafka.
func FakeGroupOpts() []kfake.Opt {
	return []kfake.Opt{
		// kfake's 6 s minimum would override shorter session timeouts
		// that a workload asks for.
		kfake.GroupMinSessionTimeout(time.Second),
		// kfake reads a KIP-848 group's session timeout from the group's
		// config but its heartbeat interval only from the broker's (5 s
		// by default): a member told to beat every 5 s in a 2 s session
		// is fenced at every beat and replays without end.
		kfake.BrokerConfigs(map[string]string{"group.consumer.heartbeat.interval.ms": "250"}),
	}
}

// StartEmbedded starts a one-node kfake cluster on 127.0.0.1.
func StartEmbedded(o Options) (*Embedded, error) {
	c, err := kfake.NewCluster(append(FakeGroupOpts(), kfake.NumBrokers(1))...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker: %w", err)
	}
	delay := delayFor(o.CommitDelay, o.GroupCommitDelays)
	if o.CommitDelay > 0 || len(o.GroupCommitDelays) > 0 {
		for _, k := range delayedRequests {
			c.ControlKey(int16(k), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if d := delay(req); d > 0 {
					c.SleepControl(func() { time.Sleep(d) })
				}
				return nil, nil, false
			})
		}
	}
	return &Embedded{c: c, desc: DelayedDescription(cluster.Description{
		Kind:               cluster.KindEmbedded,
		Version:            "kfake " + buildinfo.Module("github.com/twmb/franz-go/pkg/kfake"),
		Brokers:            1,
		OffsetsReplication: 1,
		Note:               "kfake is an in-memory fake, not Kafka: commits cost microseconds, not milliseconds",
	}, o.CommitDelay)}, nil
}

// DelayedDescription is d as recorded by clients whose commit requests the
// embedded broker holds for delay: the label says by how much and which
// requests. The two sides of an A/B run with different delays on one
// broker record their own.
func DelayedDescription(d cluster.Description, delay time.Duration) cluster.Description {
	d.EmulatedCommitDelayNs, d.EmulatedDelayRequests = int64(delay), nil
	if delay > 0 {
		for _, k := range delayedRequests {
			d.EmulatedDelayRequests = append(d.EmulatedDelayRequests, k.Name())
		}
	}
	return d
}

// delayFor returns the delay of one commit request: that of the longest
// group prefix its group (or transactional id) starts with, else def.
func delayFor(def time.Duration, byPrefix map[string]time.Duration) func(kmsg.Request) time.Duration {
	return func(req kmsg.Request) time.Duration {
		var id string
		switch r := req.(type) {
		case *kmsg.OffsetCommitRequest:
			id = r.Group
		case *kmsg.TxnOffsetCommitRequest:
			id = r.Group
		case *kmsg.EndTxnRequest:
			id = r.TransactionalID
		}
		d, best := def, -1
		for p, pd := range byPrefix {
			if strings.HasPrefix(id, p) && len(p) > best {
				d, best = pd, len(p)
			}
		}
		return d
	}
}

// Addrs returns the loopback listen address.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Describe says what the broker is.
func (e *Embedded) Describe() cluster.Description { return e.desc }

// Close stops the cluster.
func (e *Embedded) Close() error { e.c.Close(); return nil }

// FailCommits makes the next count requests of the named kinds
// (spec.CommitRequests) answer with the named error (spec.CommitErrors)
// in place of the broker's answer — kfake's faults, checked before the
// broker acts on a request. hits reports how many it answered so;
// remove takes what is left of the fault away.
func (e *Embedded) FailCommits(requests []string, errName string, count int) (hits func() int64, remove func(), err error) {
	var keys []kmsg.Key
	for _, r := range requests {
		k, ok := commitKeys[r]
		if !ok {
			return nil, nil, fmt.Errorf("embedded broker: cannot fail %q requests", r)
		}
		keys = append(keys, k)
	}
	kerrv, ok := errorNamed(errName)
	if !ok {
		return nil, nil, fmt.Errorf("embedded broker: no Kafka error named %q", errName)
	}
	// No selector: every partition of a commit, or the transaction of an
	// EndTxn, answers with the error; a request counts once.
	h := e.c.Fault(kfake.Fault{Keys: keys, Err: kerrv, Count: count})
	return func() int64 { return int64(h.Hits()) }, h.Remove, nil
}

var commitKeys = map[string]kmsg.Key{"OffsetCommit": kmsg.OffsetCommit, "TxnOffsetCommit": kmsg.TxnOffsetCommit, "EndTxn": kmsg.EndTxn}

// errorNamed is the Kafka error of that name (kerr's Message).
func errorNamed(name string) (*kerr.Error, bool) {
	for code := int16(-1); code < 200; code++ {
		if err, ok := kerr.ErrorForCode(code).(*kerr.Error); ok && err.Message == name {
			return err, true
		}
	}
	return nil, false
}
