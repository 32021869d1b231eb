// Package consume holds the consume loops that implement the strategies of
// the catalog (package strategy), and the registry that pairs each catalog
// entry with what it takes to run it: the kind of client, the options it
// needs, the request whose wire time is its commit's, its loop. The worker
// and the runner ask a Strategy value; nothing outside this registry
// switches on a strategy's name.
package consume

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// ClientKind is the kind of consumer a strategy runs on.
type ClientKind int

// The client kinds.
const (
	// GroupClient: a consumer-group member that commits to the group.
	GroupClient ClientKind = iota
	// PartitionsClient: no group; the worker assigns itself every partition
	// at the offsets stored in the sink (strategy.Info.OffsetsInSink).
	PartitionsClient
	// TransactClient: a group member inside a kgo.GroupTransactSession,
	// producing to an output topic.
	TransactClient
)

// Strategy is a catalog entry with what it takes to run it.
type Strategy struct {
	strategy.Info
	// Client is the kind of consumer the worker builds.
	Client ClientKind
	// Options are client options the strategy needs beyond the group's
	// (kgo's autocommit). Nil: commits are the loop's, autocommit is off.
	Options func(every time.Duration, events *wire.Writer) []kgo.Opt
	// WireKey is the request whose time on the wire is a commit's.
	WireKey kmsg.Key
	// UniqueResults: the sink's result table holds each source record once
	// (the idempotent sink's upsert key).
	UniqueResults bool
	// FinalCommit: a clean shutdown commits the positions after the loop
	// (loops that end with their own commit do not need it).
	FinalCommit bool
	// loop consumes until every partition reaches its end or ctx ends.
	loop func(context.Context, *Env) error
}

// registry pairs every catalog entry with its loop: adding a strategy is a
// catalog entry, its loop's file, and one line here.
var registry = map[string]Strategy{
	strategy.None:              {loop: runNone},
	strategy.AtMostOnce:        {loop: commitAhead, FinalCommit: true},
	strategy.BrokenCommitAhead: {loop: commitAhead, FinalCommit: true},
	strategy.AtLeastOnceSync:   {loop: runSync, FinalCommit: true},
	strategy.AtLeastOnceAsync:  {loop: runAsync, FinalCommit: true},
	strategy.Autocommit:        {loop: runAutocommit(false), Options: autocommitOpts(false), FinalCommit: true},
	strategy.AutocommitMarks:   {loop: runAutocommit(true), Options: autocommitOpts(true), FinalCommit: true},
	strategy.ExactlyOnceDB:     {loop: runDB(dbOffsets)},
	strategy.Idempotent:        {loop: runDB(dbThenKafka), UniqueResults: true},
	strategy.BrokenEOSDB:       {loop: runDB(kafkaOnPoll)},
	strategy.BrokenEOSDBSplit:  {loop: runDB(dbSplit)},
	strategy.BrokenEOSDBOpen:   {loop: runDB(dbOffsetsOpen)},
	strategy.Transactional:     {loop: runTransactional, Client: TransactClient, WireKey: kmsg.EndTxn},
	strategy.Outbox:            {loop: runOutbox},
}

// For returns the runnable strategy of the given name, or the catalog's
// error listing the known names.
func For(name string) (Strategy, error) {
	info, err := strategy.Lookup(name)
	if err != nil {
		return Strategy{}, err
	}
	s, ok := registry[name]
	if !ok {
		return Strategy{}, fmt.Errorf("strategy %q is in the catalog but has no consume loop", name)
	}
	s.Info = info
	if info.OffsetsInSink {
		s.Client = PartitionsClient
	}
	if s.WireKey == 0 { // unset (key 0 is Produce, never a commit)
		s.WireKey = kmsg.OffsetCommit
	}
	return s, nil
}

// Run consumes under the strategy until every partition reaches its end or
// ctx ends. It flushes the events and, for strategies that commit to the
// group, makes a final commit before it returns, as a clean shutdown would.
func (s Strategy) Run(ctx context.Context, e *Env) error {
	// The last progress mark is made when the last record is processed
	// (Env.apply), so ending work here and in the loops stays outside the
	// measured window.
	if err := s.loop(ctx, e); err != nil {
		return err
	}
	if s.FinalCommit && e.Done() {
		if err := e.commitSync(ctx, e.positions()); err != nil {
			return fmt.Errorf("final commit: %w", err)
		}
	}
	return e.Events.Flush()
}
