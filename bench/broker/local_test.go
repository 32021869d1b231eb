package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commitbench/commitbench/bench/broker/brokertest"
)

// requireKafka skips the test unless Java and the Kafka jars are there —
// and fails it instead when COMMITBENCH_REQUIRE_KAFKA=1 (CI), so CI never
// skips real-Kafka tests silently.
func requireKafka(t *testing.T) {
	t.Helper()
	brokertest.Require(t, "COMMITBENCH_REQUIRE_KAFKA", CheckLocal(context.Background(), LocalOptions{}))
}

var pidLine = regexp.MustCompile(`node \d+ pid (\d+)`)

// loggedPIDs are the node PIDs the provider reported starting.
func loggedPIDs(log string) []int {
	var pids []int
	for _, m := range pidLine.FindAllStringSubmatch(log, -1) {
		p, _ := strconv.Atoi(m[1])
		pids = append(pids, p)
	}
	return pids
}

// assertGone fails if any of the PIDs still runs, or if any process's
// command line mentions dir (where every node's files live).
func assertGone(t *testing.T, pids []int, dir string) {
	t.Helper()
	for _, p := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); err == nil {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
			t.Errorf("Kafka node pid %d is still there after the provider returned:\n%s", p, firstLines(st, 3))
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			t.Errorf("a process still uses %s: %s: %s", dir, f, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "commitbench-kafka-*"))
	if len(left) != 0 {
		t.Errorf("broker directory left behind: %v", left)
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func startLocal(t *testing.T, nodes int) (*Local, string) {
	t.Helper()
	requireKafka(t)
	dir := t.TempDir()
	var log brokertest.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b, err := StartLocal(ctx, Options{Nodes: nodes, Local: LocalOptions{Dir: dir, Log: &log, ReadyTimeout: 3 * time.Minute}})
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, dir
}

// commitAndFetch commits an offset for a group and reads it back: the
// round trip a commit strategy makes, on real Kafka.
func commitAndFetch(t *testing.T, addrs []string, rf int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.UnknownTopicRetries(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, -1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	// Producing waits (kgo retries) until the new partition is served;
	// CreateTopics answers before every broker knows the topic.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: 1, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("producing to the new topic: %v", err)
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "t", Partition: 1, At: 42, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, "g", offs); err != nil {
		t.Fatalf("committing an offset: %v", err)
	}
	got, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("t", 1); !ok || o.At != 42 {
		t.Fatalf("committed offset 42 for t/1, fetched %+v (found %v)", o, ok)
	}
	td, err := adm.ListTopicsWithInternal(ctx, "__consumer_offsets", "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"__consumer_offsets", "t"} {
		d, ok := td[topic]
		if !ok || d.Err != nil {
			t.Fatalf("topic %s: %+v", topic, d)
		}
		for _, p := range d.Partitions {
			if len(p.Replicas) != rf {
				t.Fatalf("%s partition %d has %d replicas; want %d", topic, p.Partition, len(p.Replicas), rf)
			}
		}
	}
}

func TestLocalOneNode(t *testing.T) {
	b, dir := startLocal(t, 1)
	d := b.Describe()
	t.Logf("%s; %s", d.Label(), d.Note)
	if d.Kind != "local" || !strings.HasPrefix(d.Version, "Apache Kafka 4.") || d.Brokers != 1 || d.OffsetsReplication != 1 {
		t.Errorf("description %+v; want local, Apache Kafka 4.x, 1 broker, offsets replicated once", d)
	}
	if len(b.Addrs()) != 1 || !strings.HasPrefix(b.Addrs()[0], "127.0.0.1:") {
		t.Errorf("addrs %v; want one loopback address", b.Addrs())
	}
	commitAndFetch(t, b.Addrs(), 1)
	pids := b.PIDs()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids, dir)
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLocalThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("three JVMs take half a minute on 2 cores")
	}
	b, dir := startLocal(t, 3)
	d := b.Describe()
	if d.Brokers != 3 || d.OffsetsReplication != 3 || len(b.Addrs()) != 3 {
		t.Errorf("description %+v, addrs %v; want 3 brokers, offsets replicated 3 times", d, b.Addrs())
	}
	commitAndFetch(t, b.Addrs(), 3)
	pids := b.PIDs()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids, dir)
}

// fakeLibs is a jar directory good enough to get past the jar check.
func fakeLibs(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kafka_2.13-4.0.0.jar"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLocalJarsMissing(t *testing.T) {
	_, err := StartLocal(context.Background(), Options{Local: LocalOptions{Libs: t.TempDir()}})
	if !errors.Is(err, ErrKafkaJarsMissing) || !strings.Contains(err.Error(), "scripts/kafka.sh fetch") {
		t.Fatalf("error %v; want ErrKafkaJarsMissing naming scripts/kafka.sh fetch", err)
	}
}

func TestLocalJavaMissing(t *testing.T) {
	_, err := StartLocal(context.Background(), Options{Local: LocalOptions{Libs: fakeLibs(t), Java: "/nonexistent/bin/java"}})
	if !errors.Is(err, ErrJavaMissing) || !strings.Contains(err.Error(), "openjdk-17-jre-headless") {
		t.Fatalf("error %v; want ErrJavaMissing naming openjdk-17-jre-headless", err)
	}
}

func TestLocalPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = StartLocal(context.Background(), Options{Local: LocalOptions{Libs: fakeLibs(t), Port: port}})
	if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("error %v; want ErrPortTaken naming 127.0.0.1:%d", err, port)
	}
}

func TestLocalBadNodeCount(t *testing.T) {
	_, err := StartLocal(context.Background(), Options{Nodes: 9, Local: LocalOptions{Libs: fakeLibs(t)}})
	if err == nil || !strings.Contains(err.Error(), "9 nodes") {
		t.Fatalf("error %v; want one naming the 9 nodes asked for", err)
	}
}

// failedStart starts Kafka with options that must fail after the nodes
// are launched, and checks that no node survives the failed start.
func failedStart(t *testing.T, lo LocalOptions, want error) error {
	t.Helper()
	requireKafka(t)
	var log brokertest.LogBuffer
	lo.Dir, lo.Log = t.TempDir(), &log
	b, err := StartLocal(context.Background(), Options{Local: lo})
	if err == nil {
		b.Close()
		t.Fatalf("start succeeded; want %v", want)
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, want) {
		t.Errorf("error %v; want %v", err, want)
	}
	pids := loggedPIDs(log.String())
	if len(pids) == 0 {
		t.Errorf("no node was started, so the failure path was not exercised; log:\n%s", log.String())
	}
	assertGone(t, pids, lo.Dir)
	return err
}

// An impossible readiness bound: the nodes start, never answer in time,
// and are stopped.
func TestLocalNeverReady(t *testing.T) {
	err := failedStart(t, LocalOptions{ReadyTimeout: time.Millisecond}, ErrNotReady)
	if err != nil && !strings.Contains(err.Error(), "within 1ms") {
		t.Errorf("error %v does not name the bound", err)
	}
}

// A configuration Kafka accepts for formatting but cannot start with.
func TestLocalNodeExits(t *testing.T) {
	err := failedStart(t, LocalOptions{Config: map[string]string{"authorizer.class.name": "com.example.NoSuchAuthorizer"}}, ErrNotReady)
	if err != nil && !strings.Contains(err.Error(), "exited during start-up") {
		t.Errorf("error %v does not say the node exited", err)
	}
}

// A client port taken between choosing and binding: Kafka fails to bind
// and the error says so.
func TestLocalPortTakenAtBind(t *testing.T) {
	requireKafka(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// A free pair base, base+1: the controller keeps base+1, the client
	// listener is moved to the taken port.
	base := 0
	for range 100 {
		p, err := choosePorts(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := choosePorts(2, p[0]); err == nil {
			base = p[0]
			break
		}
	}
	if base == 0 {
		t.Fatal("found no two consecutive free ports")
	}
	listeners := fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", taken.Addr().(*net.TCPAddr).Port, base+1)
	err = failedStart(t, LocalOptions{Port: base, Config: map[string]string{"listeners": listeners}}, ErrPortTaken)
	if err != nil && !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("error %v does not name the taken address %s", err, taken.Addr())
	}
}

func TestDefaultVersionMatchesScript(t *testing.T) {
	b, err := os.ReadFile("../../scripts/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`KAFKA_VERSION="${KAFKA_VERSION:-%s}"`, DefaultKafkaVersion); !bytes.Contains(b, []byte(want)) {
		t.Errorf("scripts/kafka.sh does not pin %s (want the line %s)", DefaultKafkaVersion, want)
	}
}

func TestClusterID(t *testing.T) {
	for range 1000 {
		id := clusterID()
		if len(id) != 22 || id[0] == '-' {
			t.Fatalf("cluster id %q: want 22 characters, not starting with '-'", id)
		}
	}
}
