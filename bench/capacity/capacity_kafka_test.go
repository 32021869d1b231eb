package capacity

import (
	"context"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/broker/brokertest"
	"github.com/commitbench/commitbench/bench/spec"
)

// On real Apache Kafka (the local provider; skipped without Java and the
// jars, failed instead when COMMITBENCH_REQUIRE_KAFKA=1, as in CI): a
// committer outside its group commits with generation -1 and no member id
// and Kafka accepts it; each commit of one partition appends a record to
// __consumer_offsets, and the broker's CPU is read from its process.
func TestCapacityOnLocalKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	brokertest.Require(t, "COMMITBENCH_REQUIRE_KAFKA", broker.CheckLocal(ctx, broker.LocalOptions{}))
	b, err := broker.Start(ctx, "local", broker.Options{Nodes: 1, Local: broker.LocalOptions{ReadyTimeout: 3 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	c := spec.Capacity{Groups: []int{4}, PartitionsPerCommit: []int{1}, Rates: []float64{100},
		StepDuration: spec.Duration(2 * time.Second), Warmup: spec.Duration(500 * time.Millisecond), CommitTimeout: spec.Duration(10 * time.Second)}
	steps := capacityRun(t, b, c)
	if len(steps) != 1 {
		t.Fatalf("%d steps", len(steps))
	}
	s := steps[0]
	t.Logf("%+v", s)
	if s.Failed != 0 || s.Answered == 0 {
		t.Errorf("%d commits answered, %d failed %v: Kafka refused commits from outside the group", s.Answered, s.Failed, s.FailedByError)
	}
	if r := s.OffsetsTopicRecordsPerCommit; r == nil || *r < 0.5 {
		t.Errorf("__consumer_offsets records per commit: %v, want about one", r)
	}
	if s.BrokerCPUMsPer1kCommits == nil || s.BrokerCPUScope != "broker processes" {
		t.Errorf("broker CPU %v (%q): the local broker's CPU was not read", s.BrokerCPUMsPer1kCommits, s.BrokerCPUScope)
	}
}
