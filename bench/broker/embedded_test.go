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
