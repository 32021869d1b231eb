package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/consume"
)

// newClients builds the Kafka clients the strategy asks for into env — its
// consumer (a group member, a self-assigned reader of the partitions, or
// a transactional session) and the outbox relay's producer — with the
// commit hook and, when configured, the kill point. The returned func
// closes them.
func newClients(ctx context.Context, cfg Config, strat consume.Strategy, env *consume.Env) (func(), error) {
	base, err := ClientOpts(cfg)
	if err != nil {
		return nil, err
	}
	killer := newKiller(cfg.KillPoint, env.Events)
	if cfg.KillPoint != nil { // no call per record otherwise
		env.Reach = killer.reach
	}
	if cfg.Member != nil {
		env.Pause = killer.pausable()
		env.CommitRetryFor = cfg.Member.SessionTimeout.D()
	}
	base = append(base, kgo.WithHooks(commitHook{env.Events, int16(strat.WireKey), killer}))
	switch {
	case strat.Client == consume.PartitionsClient && cfg.Member == nil:
		err = partitionsClient(ctx, cfg, env, base)
	case strat.Client == consume.TransactClient:
		err = transactClient(ctx, cfg, env, base)
	default:
		opts := append(base, GroupOpts(cfg)...)
		if cfg.Member != nil {
			opts = append(opts, env.MemberOpts(cfg.Member.CommitOnRevoke)...)
		}
		if strat.Options != nil {
			opts = append(opts, strat.Options(cfg.Interval.Every.D(), env.Events)...)
		} else {
			opts = append(opts, kgo.DisableAutoCommit())
		}
		env.Client, err = kgo.NewClient(opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	closeConsumer := env.Client.Close
	if env.Session != nil {
		closeConsumer = env.Session.Close
	}
	if !strat.Relay {
		return closeConsumer, nil
	}
	if env.Producer, err = relayProducer(cfg); err != nil {
		closeConsumer()
		return nil, err
	}
	return func() { env.Producer.Close(); closeConsumer() }, nil
}

// partitionsClient reads every partition from where the database's results
// end: the database owns the offsets, so there is no group.
func partitionsClient(ctx context.Context, cfg Config, env *consume.Env, base []kgo.Opt) error {
	var err error
	if env.Start, err = storedOffsets(ctx, env.DB, env.Tables, cfg.End); err != nil {
		return err
	}
	at := map[int32]kgo.Offset{}
	for p, o := range env.Start {
		at[p] = kgo.NewOffset().At(o)
	}
	env.Client, err = kgo.NewClient(append(base, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: at}))...)
	return err
}

// transactClient is a group member inside a GroupTransactSession that
// produces to the output topic and commits offsets in its transactions.
func transactClient(ctx context.Context, cfg Config, env *consume.Env, base []kgo.Opt) error {
	opts := append(base, GroupOpts(cfg)...)
	txnID := cfg.Group + "-txn"
	if cfg.Member != nil {
		// One transactional id per ledger slot: members never share one
		// (each would fence the other), and a killed member's replacement,
		// which takes its slot, fences its open transaction at once.
		txnID = fmt.Sprintf("%s-txn-s%d", cfg.Group, cfg.LedgerSlot)
		opts = append(opts, env.MemberOpts(false)...)
	}
	opts = append(opts,
		kgo.TransactionalID(txnID),
		kgo.UnknownTopicRetries(-1), // the output topic is new
		// A transaction spans one interval: give it room, so the broker
		// does not abort every one at long intervals. A killed worker's
		// open transaction is aborted at once when its replacement takes
		// the transactional id over.
		kgo.TransactionTimeout(max(time.Minute, 2*cfg.Interval.Every.D())),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(cfg.Client.Linger.D()),
		kgo.ProducerBatchCompression(Codec(cfg.Client.Compression)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	env.Session, env.Client = s, s.Client()
	// As Java's initTransactions does: take the transactional id over
	// before consuming. That fences a killed predecessor and aborts its
	// open transaction at once; otherwise the stable offset read would
	// wait out the transaction timeout.
	if _, _, err := env.Client.ProducerID(ctx); err != nil {
		s.Close()
		return fmt.Errorf("initialising the transactional producer: %w", err)
	}
	return nil
}

// relayProducer is the outbox relay's producer: idempotent (kgo's
// default), acks from all in-sync replicas, to the partition of the source.
func relayProducer(cfg Config) (*kgo.Client, error) {
	conn, err := broker.ClientOpts(cfg.Conn)
	if err != nil {
		return nil, err
	}
	p, err := kgo.NewClient(append(conn,
		kgo.ClientID("commitbench-relay"),
		kgo.UnknownTopicRetries(-1), // the output topic is new
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(cfg.Client.Linger.D()),
		kgo.ProducerBatchCompression(Codec(cfg.Client.Compression)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("creating the relay's producer: %w", err)
	}
	return p, nil
}
