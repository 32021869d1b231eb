package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/broker"
)

// The emulated delay holds every commit-like request, and the description
// says which.
func TestEmbeddedDelaysEveryCommitRequest(t *testing.T) {
	const d = 30 * time.Millisecond
	b, err := broker.StartEmbedded(broker.Options{CommitDelay: d})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	desc := b.Describe()
	if got := strings.Join(desc.EmulatedDelayRequests, ","); got != "OffsetCommit,TxnOffsetCommit,EndTxn" {
		t.Errorf("delayed requests %q", got)
	}
	if !strings.Contains(desc.Label(), "database commits not delayed") {
		t.Errorf("label %q does not say what was left undelayed", desc.Label())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// An EndTxn for a producer that has none answers with an error, but
	// only after the delay: the request was held like a commit.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID = "t", 1
	start := time.Now()
	if _, err := req.RequestWith(ctx, cl); err != nil && ctx.Err() != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Errorf("EndTxn answered in %s, before the %s delay", took, d)
	}
}

// A per-prefix delay holds only its own groups' commits: the candidate side
// of an A/B run pays its delay, the baseline side on the same broker none.
func TestEmbeddedDelaysOnlyTheGroupsOfItsPrefix(t *testing.T) {
	b, err := broker.StartEmbedded(broker.Options{GroupCommitDelays: map[string]time.Duration{"slow-": time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	commit := func(ctx context.Context, cl *kgo.Client, group string) error {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = group, -1
		_, err := req.RequestWith(ctx, cl)
		return err
	}
	// The delayed group's client is another connection, as the other side
	// of an A/B run is another process: Kafka answers one connection's
	// requests in order, so a held request holds those behind it.
	slowCl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer slowCl.Close()
	slowCtx, stopSlow := context.WithCancel(ctx)
	slow := make(chan error, 1)
	go func() { slow <- commit(slowCtx, slowCl, "slow-g1") }()
	// The undelayed group's commit is answered while the delayed one is
	// still held: a minute's delay is not over two seconds later (a lower
	// bound of the injected delay, with a wide margin).
	if err := commit(ctx, cl, "fast-g1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-slow:
		t.Fatalf("the delayed group's commit was answered (%v), not held", err)
	case <-time.After(2 * time.Second):
	}
	stopSlow()
	<-slow
	if d := b.Describe(); d.EmulatedCommitDelayNs != 0 || len(d.EmulatedDelayRequests) != 0 {
		t.Errorf("the broker's own description claims a delay: %+v", d)
	}
	if d := broker.DelayedDescription(b.Describe(), time.Millisecond); d.EmulatedCommitDelayNs != 1e6 || len(d.EmulatedDelayRequests) != 3 {
		t.Errorf("the delayed side's description: %+v", d)
	}
}
