package broker

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/buildinfo"
	"github.com/commitbench/commitbench/bench/cluster"
)

// Embedded is franz-go's kfake running in this process on loopback. It is
// a fake: an in-memory log whose commits cost microseconds, not the
// milliseconds of a replicated Kafka write, and its results say so.
type Embedded struct {
	c    *kfake.Cluster
	desc cluster.Description
}

// StartEmbedded starts a one-node kfake cluster on 127.0.0.1.
func StartEmbedded(o Options) (*Embedded, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		// kfake's 6 s minimum would override shorter session timeouts
		// that a workload asks for.
		kfake.GroupMinSessionTimeout(time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker: %w", err)
	}
	var delayed []string
	if d := o.CommitDelay; d > 0 {
		// Every request that commits offsets or a transaction: a remote
		// cluster costs each of them a round trip. The exactly-once-db and
		// outbox strategies commit to their database, which this does not
		// delay; the description says which requests were.
		for _, k := range []kmsg.Key{kmsg.OffsetCommit, kmsg.TxnOffsetCommit, kmsg.EndTxn} {
			c.ControlKey(int16(k), func(kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				c.SleepControl(func() { time.Sleep(d) })
				return nil, nil, false
			})
			delayed = append(delayed, k.Name())
		}
	}
	return &Embedded{c: c, desc: cluster.Description{
		Kind:                  cluster.KindEmbedded,
		Version:               "kfake " + buildinfo.Module("github.com/twmb/franz-go/pkg/kfake"),
		Brokers:               1,
		OffsetsReplication:    1,
		EmulatedCommitDelayNs: int64(o.CommitDelay),
		EmulatedDelayRequests: delayed,
		Note:                  "kfake is an in-memory fake, not Kafka: commits cost microseconds, not milliseconds",
	}}, nil
}

// Addrs returns the loopback listen address.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Describe says what the broker is.
func (e *Embedded) Describe() cluster.Description { return e.desc }

// Close stops the cluster.
func (e *Embedded) Close() error { e.c.Close(); return nil }
