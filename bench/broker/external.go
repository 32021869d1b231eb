package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

// External is an existing cluster that commitbench neither starts nor
// stops. The runner creates its topics under a unique prefix and deletes
// them afterwards.
type External struct {
	conn cluster.Conn
	desc cluster.Description
}

// ConnectExternal checks that the cluster answers (and accepts the
// credentials) and describes it: broker count, the offsets topic's
// replication, and the Kafka version guessed from its API versions.
func ConnectExternal(ctx context.Context, conn cluster.Conn) (*External, error) {
	opts, err := ClientOpts(conn)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.ClientID("commitbench-harness"))...)
	if err != nil {
		return nil, fmt.Errorf("external broker: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the external cluster at %v: %w; check broker.bootstrap, TLS and SASL settings (and the password's source)", conn.Bootstrap, err)
	}
	desc := cluster.Description{Kind: "external", Version: "Kafka (version unknown)", Brokers: len(meta.Brokers)}
	if vs, err := adm.ApiVersions(ctx); err == nil {
		for _, v := range vs {
			if v.Err == nil {
				desc.Version = "Kafka " + kversion.FromApiVersionsResponse(v.Raw()).VersionGuess()
				break
			}
		}
	}
	if topics, err := adm.ListTopicsWithInternal(ctx, "__consumer_offsets"); err == nil {
		if t, ok := topics["__consumer_offsets"]; ok && t.Err == nil {
			for _, p := range t.Partitions {
				desc.OffsetsReplication = len(p.Replicas)
				break
			}
		}
	}
	return &External{conn: conn, desc: desc}, nil
}

// Addrs returns the bootstrap addresses.
func (e *External) Addrs() []string { return e.conn.Bootstrap }

// Conn returns how to reach the cluster, TLS and SASL included.
func (e *External) Conn() cluster.Conn { return e.conn }

// Describe says what the cluster is.
func (e *External) Describe() cluster.Description { return e.desc }

// Close does nothing: commitbench did not start the cluster.
func (e *External) Close() error { return nil }
