package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/spec"
)

// codec maps a workload's compression name to kgo's codec.
func codec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// ping checks that the broker answers metadata within the timeout, so an
// unreachable broker is one clear error instead of a hung worker.
func ping(ctx context.Context, addrs []string, timeout time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ClientID("commitbench-harness"))
	if err != nil {
		return fmt.Errorf("broker address %v: %w", addrs, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := kadm.NewClient(cl).BrokerMetadata(ctx); err != nil {
		return fmt.Errorf("cannot reach the broker at %v within %s: %w; check the address and that the broker runs", addrs, timeout, err)
	}
	return nil
}

// seed creates the source topic and fills it with the workload's records.
// It returns each partition's end offset.
func seed(ctx context.Context, addrs []string, topic string, w *spec.Workload) (map[int32]int64, error) {
	c := w.Client
	opts := []kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.ClientID("commitbench-seeder"),
		kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(c.Linger.D()),
		kgo.ProducerBatchCompression(codec(c.Compression)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
	if w.Topic.Keys == "none" {
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating seeding client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, w.Topic.Partitions, -1, nil, topic); err != nil {
		return nil, fmt.Errorf("creating topic %s: %w", topic, err)
	}

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

// deleteTopic removes the source topic; a fake broker keeps it in memory.
func deleteTopic(ctx context.Context, addrs []string, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ClientID("commitbench-harness"))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).DeleteTopic(ctx, topic)
	return err
}
