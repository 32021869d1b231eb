package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker/brokertest"
)

// requireContainer skips the test unless a Docker API (DOCKER_HOST) and
// the Kafka image are there — and fails it instead when
// COMMITBENCH_REQUIRE_CONTAINER=1 (CI), so CI never skips them silently.
func requireContainer(t *testing.T) {
	t.Helper()
	brokertest.Require(t, "COMMITBENCH_REQUIRE_CONTAINER", brokertest.DockerHost())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if img, err := CheckContainer(ctx, ContainerOptions{}); err != nil {
		brokertest.Require(t, "COMMITBENCH_REQUIRE_CONTAINER", fmt.Errorf("the container broker cannot start %s: %w", img, err))
	}
}

// labelled lists the containers (running or not) carrying a label.
func labelled(t *testing.T, label string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range res.Items {
		ids = append(ids, shortID(s.ID)+" "+strings.Join(s.Names, ",")+" "+string(s.State))
	}
	return ids
}

func TestContainerBroker(t *testing.T) {
	requireContainer(t)
	var log brokertest.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b, err := StartContainer(ctx, ContainerOptions{Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	id := b.ID()
	closed := false
	defer func() {
		if !closed {
			_ = b.Close()
		}
	}()

	d := b.Describe()
	if d.Kind != "container" || d.Brokers != 1 || d.OffsetsReplication != 1 || !strings.HasPrefix(d.Version, "Apache Kafka ") || !strings.Contains(d.Version, "(image ") {
		t.Errorf("description %+v", d)
	}
	if len(b.Addrs()) != 1 || !strings.HasPrefix(b.Addrs()[0], "127.0.0.1:") {
		t.Fatalf("addrs %v: want one address on 127.0.0.1", b.Addrs())
	}

	// Metadata as the host sees it: one broker, advertised at the address
	// the host dialled (the fixed mapping makes the two agree).
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 {
		t.Fatalf("metadata lists %d brokers: %+v", len(md.Brokers), md.Brokers)
	}
	if got, want := md.Brokers[0].Host+":"+strconv.Itoa(int(md.Brokers[0].Port)), b.Addrs()[0]; got != want {
		t.Errorf("broker advertises %s; want %s", got, want)
	}
	// The settings reached server.properties through KAFKA_* variables.
	cfgs, err := adm.DescribeBrokerConfigs(ctx, md.Brokers[0].NodeID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"group.min.session.timeout.ms": "1000", "offsets.topic.replication.factor": "1"}
	for _, rc := range cfgs {
		for _, c := range rc.Configs {
			if w, ok := want[c.Key]; ok {
				if c.MaybeValue() != w {
					t.Errorf("%s = %q; want %q", c.Key, c.MaybeValue(), w)
				}
				delete(want, c.Key)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("broker configs lack %v", want)
	}
	// A commit round trip, the operation commitbench measures.
	// A commit round trip, the operation commitbench measures: commit an
	// offset for a group and read it back.
	const topic, group = "commitbench-container-test", "commitbench-container-test"
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	off := kadm.Offsets{}
	off.Add(kadm.Offset{Topic: topic, Partition: 0, At: 42, LeaderEpoch: -1})
	// The new partition's leader may take a moment to be known: retry the
	// commit on UNKNOWN_TOPIC_OR_PARTITION until the test's deadline.
	for {
		cr, err := adm.CommitOffsets(ctx, group, off)
		if err == nil {
			err = cr.Error()
		}
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) || ctx.Err() != nil {
			t.Fatalf("commit: %v", err)
		}
		_, _ = adm.ListTopics(ctx, topic) // refreshes the client's metadata
	}
	fr, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := fr.Lookup(topic, 0); !ok || got.At != 42 {
		t.Errorf("fetched offset %+v (found %v); want 42", got, ok)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, c := range labelled(t, ContainerLabel+"="+ContainerLabelValue) {
		if strings.HasPrefix(c, shortID(id)) {
			t.Errorf("container still there after Close: %s", c)
		}
	}
}

// A start that fails after the container was created — here Kafka exits
// at once on a bad setting — returns an error and leaves no container.
func TestContainerBrokerFailedStartLeavesNothing(t *testing.T) {
	requireContainer(t)
	before := labelled(t, "org.testcontainers=true")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log brokertest.LogBuffer
	b, err := StartContainer(ctx, ContainerOptions{
		Log:          &log,
		ReadyTimeout: 90 * time.Second,
		// Kafka refuses to start: the node is not among the voters.
		Config: map[string]string{"node.id": "7"},
	})
	t.Log(log.String())
	if err == nil {
		_ = b.Close()
		t.Fatal("Kafka started with node.id 7 outside the quorum; want an error")
	}
	t.Logf("start failed as it should: %v", err)
	if after := labelled(t, "org.testcontainers=true"); len(after) > len(before) {
		t.Errorf("containers left behind after a failed start:\nbefore %v\nafter  %v", before, after)
	}
}

// runtimeHelperEnv re-runs this test binary as a child whose DOCKER_HOST
// points nowhere: testcontainers reads DOCKER_HOST once per process.
const runtimeHelperEnv = "COMMITBENCH_TEST_NO_RUNTIME"

func TestContainerBrokerErrors(t *testing.T) {
	if os.Getenv(runtimeHelperEnv) == "1" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := StartContainer(ctx, ContainerOptions{})
		if !errors.Is(err, ErrContainerRuntime) {
			t.Fatalf("err = %v; want ErrContainerRuntime", err)
		}
		if !strings.Contains(err.Error(), "scripts/podman.sh start") {
			t.Fatalf("error names no fix: %v", err)
		}
		return
	}
	if _, err := StartContainer(context.Background(), ContainerOptions{Port: containerControllerPort}); err == nil {
		t.Error("port 9093 accepted; it is the controller's inside the container")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestContainerBrokerErrors$", "-test.count=1")
	cmd.Env = append(os.Environ(), runtimeHelperEnv+"=1",
		"DOCKER_HOST=unix:///nonexistent/commitbench-test.sock", "TESTCONTAINERS_RYUK_DISABLED=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with no container runtime: %v\n%s", err, out)
	}
}

func TestKafkaEnvName(t *testing.T) {
	for k, want := range map[string]string{
		"group.min.session.timeout.ms":   "KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS",
		"listener.security.protocol.map": "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
		"listener.name.internal.ssl-key": "KAFKA_LISTENER_NAME_INTERNAL_SSL___KEY",
		"confluent.metrics_reporter.x":   "KAFKA_CONFLUENT_METRICS__REPORTER_X",
	} {
		if got := KafkaEnvName(k); got != want {
			t.Errorf("KafkaEnvName(%q) = %q; want %q", k, got, want)
		}
	}
}
