package runner

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/worker"
)

// newClient builds a harness client that reaches the broker.
func newClient(conn cluster.Conn, id string, opts ...kgo.Opt) (*kgo.Client, error) {
	base, err := broker.ClientOpts(conn)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(append(base, kgo.ClientID(id)), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating a client for %v: %w", conn.Bootstrap, err)
	}
	return cl, nil
}

// ping checks that the broker answers metadata within the timeout, so an
// unreachable broker is one clear error instead of a hung worker.
func ping(ctx context.Context, adm *kadm.Client, conn cluster.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := adm.BrokerMetadata(ctx); err != nil {
		return fmt.Errorf("cannot reach the broker at %v within %s: %w; check the address and that the broker runs", conn.Bootstrap, timeout, err)
	}
	return nil
}

// seed creates the source topic (calling created once it exists) and fills
// it with the workload's records. It returns each partition's end offset.
func seed(ctx context.Context, conn cluster.Conn, topic string, w *spec.Workload, created func()) (map[int32]int64, error) {
	c := w.Client
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		// Real Kafka may not know a new topic's leaders for a moment after
		// CreateTopics returns: wait for them (bounded by ctx), not 4 tries.
		kgo.UnknownTopicRetries(-1),
		kgo.ProducerLinger(c.Linger.D()),
		kgo.ProducerBatchCompression(worker.Codec(c.Compression)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
	if w.Topic.Keys == "none" {
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	}
	cl, err := newClient(conn, "commitbench-seeder", opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, w.Topic.Partitions, -1, nil, topic); err != nil {
		return nil, fmt.Errorf("creating topic %s: %w", topic, err)
	}
	created()

	// Random, incompressible payloads: a compressed run must not look
	// cheaper than real data would.
	rng := rand.New(rand.NewPCG(uint64(w.Crashes.Seed), 1))
	pool := make([]byte, 1<<16+w.Topic.RecordBytes)
	for i := range pool {
		pool[i] = byte(rng.Uint32())
	}
	var perr error
	errc := make(chan error, 1)
	for i := int64(0); i < w.Topic.Records; i++ {
		off := rng.IntN(1 << 16)
		r := &kgo.Record{Value: pool[off : off+w.Topic.RecordBytes]}
		if w.Topic.Keys == "random" {
			r.Key = pool[off+1 : off+1+min(16, w.Topic.RecordBytes)]
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("seeding %s: %w", topic, err)
	}
	select {
	case perr = <-errc:
		return nil, fmt.Errorf("seeding %s: %w", topic, perr)
	default:
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	end := map[int32]int64{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		end[o.Partition] = o.Offset
		total += o.Offset
	})
	if total != w.Topic.Records {
		return nil, fmt.Errorf("seeded %s holds %d records, want %d", topic, total, w.Topic.Records)
	}
	return end, nil
}

// deleteTopic removes a topic; a fake broker keeps it in memory.
func deleteTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	_, err := adm.DeleteTopic(ctx, topic)
	return err
}

// createTopic creates an output topic with the source's partition count.
func createTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32) error {
	if _, err := adm.CreateTopic(ctx, partitions, -1, nil, topic); err != nil {
		return fmt.Errorf("creating output topic %s: %w", topic, err)
	}
	return nil
}

// readCommitted reads an output topic as a downstream consumer with
// read_committed isolation would, and applies each record's source to f.
// Every partition ends with the strategy's end marker, written in its last
// committed transaction; the read stops when all have been seen, or fails
// when nothing arrives for stall.
func readCommitted(ctx context.Context, conn cluster.Conn, topic string, end map[int32]int64, stall time.Duration, f func(int32, int64) error) error {
	parts := map[int32]kgo.Offset{}
	for p := range end {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := newClient(conn, "commitbench-reader",
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	done := map[int32]bool{}
	for len(done) < len(end) {
		pctx, cancel := context.WithTimeout(ctx, stall)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if timedOut {
			return fmt.Errorf("reading %s: %d partitions lack their end marker after %s: the last transaction did not commit", topic, len(end)-len(done), stall)
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("reading %s[%d]: %w", topic, p, err) })
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			if bytes.Equal(r.Key, consume.EndMarker) {
				done[r.Partition] = true
				continue
			}
			p, o, err := consume.DecodeSource(r.Key)
			if err != nil {
				return fmt.Errorf("reading %s[%d]@%d: %w", topic, r.Partition, r.Offset, err)
			}
			if err := f(p, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeEndMarkers writes the end marker to every partition of the output
// topic, outside any transaction: what a group's transactional members,
// none of which knows the group is done, cannot write themselves.
func writeEndMarkers(ctx context.Context, conn cluster.Conn, topic string, end map[int32]int64) error {
	cl, err := newClient(conn, "commitbench-end-markers", kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return err
	}
	defer cl.Close()
	recs := make([]*kgo.Record, 0, len(end))
	for p := range end {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: consume.EndMarker})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("writing the end markers to %s: %w", topic, err)
	}
	return nil
}
