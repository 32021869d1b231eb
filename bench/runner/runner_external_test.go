package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/broker/brokertest"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/spec"
)

// An external cluster behind TLS and SCRAM: workers — a lone one and a
// group's — reach it with the same settings, the password reaches no
// result, and the run's topics (under its prefix) are gone afterwards.
func TestExternalSecuredCluster(t *testing.T) {
	const secret = "pa55-word-never-logged"
	f := brokertest.StartSecuredFake(t, "bench", secret, broker.FakeGroupOpts()...)
	t.Setenv("CB_TEST_KAFKA_PASSWORD", secret)
	conn := cluster.Conn{
		Bootstrap: f.Cluster.ListenAddrs(),
		TLS:       &cluster.TLS{CAFile: f.CAFile},
		SASL:      &cluster.SASL{Mechanism: "SCRAM-SHA-256", Username: "bench", PasswordEnv: "CB_TEST_KAFKA_PASSWORD"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, "external", broker.Options{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	w := crashWorkload(t, "at-least-once-sync", 500, 2)
	w.Broker.Kind = "external"
	w.Broker.TopicPrefix = "cbtest-"
	r := New(w, b, "ext", WithWorkerCommand(testWorker), WithLog(testLog{t}))
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	points, _ := w.Plan()
	res, err := r.Point(ctx, points[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if res.Crash == nil || res.Crash.Lost != 0 || len(res.Violations) != 0 {
		t.Errorf("crash phase %+v, violations %v", res.Crash, res.Violations)
	}
	js, _ := json.Marshal(res)
	if strings.Contains(string(js), secret) {
		t.Error("the SASL password reached the result")
	}
	if res.Broker.Kind != "external" {
		t.Errorf("broker kind %q", res.Broker.Kind)
	}
	// A group of three on the secured cluster, each member with the
	// cluster's TLS and SASL, rolled under both protocols.
	for _, g := range []string{rollingClassic, rollingConsumer} {
		t.Run(g, func(t *testing.T) {
			checkCleanRollingRestart(t, b, g, func(w *spec.Workload) {
				w.Broker.Kind, w.Broker.TopicPrefix = "external", "cbtest-"
			})
		})
	}

	cl, err := newClient(conn, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.HasPrefix(name, "cbtest-") {
			t.Errorf("topic %s left behind", name)
		}
	}
}
