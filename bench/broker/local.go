package broker

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultKafkaVersion is the Apache Kafka release that scripts/kafka.sh
// fetch resolves from Maven Central; the two must name the same version.
const DefaultKafkaVersion = "4.4.0"

// Errors a local start can fail with; each is wrapped with the details a
// user needs, so test them with errors.Is.
var (
	// ErrJavaMissing: no java executable, or one too old for Kafka 4.
	ErrJavaMissing = errors.New("java 17 or newer is needed to run Kafka")
	// ErrKafkaJarsMissing: the jar cache that scripts/kafka.sh fetch fills is empty.
	ErrKafkaJarsMissing = errors.New("the Kafka jars are not in the cache")
	// ErrPortTaken: a listener port on 127.0.0.1 is in use.
	ErrPortTaken = errors.New("port taken")
	// ErrNotReady: Kafka did not answer metadata within the bound, or exited.
	ErrNotReady = errors.New("the Kafka broker did not become ready")
)

// LocalOptions configure the local provider: real Apache Kafka (KRaft)
// started as JVM processes on 127.0.0.1.
type LocalOptions struct {
	// Libs is the directory holding Kafka's jars. Empty means
	// $COMMITBENCH_KAFKA_LIBS, else $KAFKA_CACHE/<DefaultKafkaVersion>/libs,
	// else .cache/kafka/<DefaultKafkaVersion>/libs in the repository that
	// holds scripts/kafka.sh (searched upwards from the working directory).
	Libs string
	// Java is the java executable; empty means $JAVA_HOME/bin/java when
	// JAVA_HOME is set, else java on PATH.
	Java string
	// Dir is where the nodes' data and logs go, in a fresh subdirectory
	// removed on Close; empty means the system's temporary directory.
	Dir string
	// Port is node 1's client port; node i uses Port+2(i-1) for clients
	// and the next port for its controller. 0 picks free ports.
	Port int
	// ReadyTimeout bounds the wait for every node to answer metadata and
	// for the group coordinator to be available; 0 means 90 s.
	ReadyTimeout time.Duration
	// Heap is each node's JVM heap (-Xms and -Xmx); empty means 512m.
	Heap string
	// Config sets or overrides server.properties entries on every node.
	Config map[string]string
	// Log receives progress: each node's PID and log file, the start-up
	// time. Nil discards it.
	Log io.Writer
}

// Local is a Kafka cluster of one or more KRaft nodes (each a combined
// broker and controller) running as child processes on loopback.
type Local struct {
	// java, libs, heap and log4j start a node (again).
	java, libs, heap, log4j string
	ready                   time.Duration
	mu                      sync.Mutex // guards each node's process across a restart
	dir                     string
	addrs                   []string
	nodes                   []*localNode
	desc                    cluster.Description
	log                     io.Writer
	once                    sync.Once
	err                     error
}

type localNode struct {
	id      int
	props   string
	logPath string
	// cmd, done and waitErr are the node's current process: a restart
	// replaces them (under Local.mu).
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited and been reaped
	waitErr error         // valid after done is closed
}

// launch starts node nd's JVM, its output appended to its log.
func (l *Local) launch(nd *localNode) error {
	f, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("local broker: %w", err)
	}
	cmd := exec.Command(l.java, "-Xms"+l.heap, "-Xmx"+l.heap,
		// Kafka's own default collector, with one GC thread each for 2 cores.
		"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
		"-XX:ParallelGCThreads=1", "-XX:ConcGCThreads=1", "-XX:CICompilerCount=2",
		"-Djava.awt.headless=true", "-Dlog4j2.configurationFile="+l.log4j,
		"-cp", filepath.Join(l.libs, "*"), "kafka.Kafka", nd.props)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group (a terminal's Ctrl-C reaches the harness, which
	// stops the nodes in order); killed if the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	f.Close()
	if err != nil {
		return fmt.Errorf("local broker: starting node %d: %w", nd.id, err)
	}
	done := make(chan struct{})
	l.mu.Lock()
	nd.cmd, nd.done = cmd, done
	l.mu.Unlock()
	go func() {
		err := cmd.Wait()
		l.mu.Lock()
		nd.waitErr = err
		l.mu.Unlock()
		close(done)
	}()
	fmt.Fprintf(l.log, "local kafka: node %d pid %d, log %s\n", nd.id, cmd.Process.Pid, nd.logPath)
	return nil
}

// StopNode stops node id (1-based) — SIGKILL, or SIGTERM for a
// controlled shutdown, in which Kafka hands the node's leaderships and
// coordinators over first — and returns once its process is reaped.
func (l *Local) StopNode(ctx context.Context, id int, clean bool) error {
	nd, err := l.node(id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	cmd, done := nd.cmd, nd.done
	l.mu.Unlock()
	sig := syscall.SIGKILL
	if clean {
		sig = syscall.SIGTERM
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("local broker: stopping node %d (pid %d): %w", id, cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local broker: waiting for node %d to stop: %w", id, ctx.Err())
	}
}

// StartNode starts a stopped node again on its data, and returns once
// every node answers metadata and a group coordinator answers.
func (l *Local) StartNode(ctx context.Context, id int) error {
	nd, err := l.node(id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	done := nd.done
	l.mu.Unlock()
	select {
	case <-done:
	default:
		return fmt.Errorf("local broker: node %d is running", id)
	}
	if err := l.launch(nd); err != nil {
		return err
	}
	return l.waitReady(ctx, len(l.nodes), l.ready)
}

func (l *Local) node(id int) (*localNode, error) {
	if id < 1 || id > len(l.nodes) {
		return nil, fmt.Errorf("local broker: no node %d (the cluster has %d)", id, len(l.nodes))
	}
	return l.nodes[id-1], nil
}

// StartLocal formats and starts o.Nodes (default 1; $COMMITBENCH_KAFKA_NODES
// when 0) Kafka nodes on free loopback ports and waits until all of them
// answer metadata and a group coordinator is available. On any failure it
// stops what it started and removes its directory before returning.
func StartLocal(ctx context.Context, o Options) (*Local, error) {
	lo := o.Local
	n := o.Nodes
	if n == 0 {
		if s := os.Getenv("COMMITBENCH_KAFKA_NODES"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("COMMITBENCH_KAFKA_NODES=%q: want 1 to 5", s)
			}
			n = v
		} else {
			n = 1
		}
	}
	if n < 1 || n > 5 {
		return nil, fmt.Errorf("local broker: %d nodes: use 1 (offsets replicated once) or 3 (offsets replicated 3 times), at most 5", n)
	}
	libs, version, err := findLibs(lo.Libs)
	if err != nil {
		return nil, err
	}
	ports, err := choosePorts(2*n, lo.Port)
	if err != nil {
		return nil, err
	}
	java, err := findJava(ctx, lo.Java)
	if err != nil {
		return nil, err
	}
	ready := lo.ReadyTimeout
	if ready <= 0 {
		ready = 90 * time.Second
	}
	heap := lo.Heap
	if heap == "" {
		heap = "512m"
	}
	dir, err := os.MkdirTemp(lo.Dir, "commitbench-kafka-")
	if err != nil {
		return nil, fmt.Errorf("local broker: creating its directory: %w", err)
	}
	rf, isr := min(n, 3), 1
	if rf > 1 {
		isr = 2
	}
	l := &Local{dir: dir, log: lo.Log, ready: ready}
	if l.log == nil {
		l.log = io.Discard
	}
	t0 := time.Now()
	if err := l.start(ctx, java, libs, heap, n, rf, isr, ports, lo.Config, ready); err != nil {
		_ = l.Close()
		return nil, err
	}
	took := time.Since(t0)
	fmt.Fprintf(l.log, "local kafka: Apache Kafka %s, %d node(s) ready in %s at %s\n",
		version, n, took.Round(10*time.Millisecond), strings.Join(l.addrs, ","))
	l.desc = cluster.Description{
		Kind:               "local",
		Version:            "Apache Kafka " + version,
		Brokers:            n,
		OffsetsReplication: rf,
		Note: fmt.Sprintf("real Apache Kafka %s (KRaft, %d combined broker+controller node(s), offsets replicated %d×, min.insync.replicas %d) on loopback on this machine: no network latency, page cache without fsync per write (Kafka's default)",
			version, n, rf, isr),
		StartupSeconds: took.Seconds(),
	}
	return l, nil
}

// start does the work of StartLocal; the caller cleans up on error.
func (l *Local) start(ctx context.Context, java, libs, heap string, n, rf, isr int, ports []int, extra map[string]string, ready time.Duration) error {
	voters := make([]string, n)
	for i := range n {
		voters[i] = fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[2*i+1])
		l.addrs = append(l.addrs, fmt.Sprintf("127.0.0.1:%d", ports[2*i]))
	}
	log4j := filepath.Join(l.dir, "log4j2.properties")
	if err := os.WriteFile(log4j, []byte(log4jConfig), 0o644); err != nil {
		return fmt.Errorf("local broker: writing %s: %w", log4j, err)
	}
	cluster := clusterID()
	props := make([]string, n)
	for i := range n {
		id := i + 1
		nodeDir := filepath.Join(l.dir, fmt.Sprintf("node%d", id))
		if err := os.MkdirAll(filepath.Join(nodeDir, "data"), 0o755); err != nil {
			return fmt.Errorf("local broker: %w", err)
		}
		cfg := map[string]string{
			"process.roles":                                    "broker,controller",
			"node.id":                                          strconv.Itoa(id),
			"controller.quorum.voters":                         strings.Join(voters, ","),
			"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", ports[2*i], ports[2*i+1]),
			"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", ports[2*i]),
			"controller.listener.names":                        "CONTROLLER",
			"inter.broker.listener.name":                       "PLAINTEXT",
			"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"log.dirs":                                         filepath.Join(nodeDir, "data"),
			"num.partitions":                                   "1",
			"default.replication.factor":                       strconv.Itoa(rf),
			"min.insync.replicas":                              strconv.Itoa(isr),
			"offsets.topic.replication.factor":                 strconv.Itoa(rf),
			"transaction.state.log.replication.factor":         strconv.Itoa(rf),
			"transaction.state.log.min.isr":                    strconv.Itoa(isr),
			"share.coordinator.state.topic.replication.factor": strconv.Itoa(rf),
			"share.coordinator.state.topic.min.isr":            strconv.Itoa(isr),
			"group.initial.rebalance.delay.ms":                 "0",
		}
		maps.Copy(cfg, groupTimeoutFloors())
		maps.Copy(cfg, extra)
		props[i] = filepath.Join(nodeDir, "server.properties")
		if err := os.WriteFile(props[i], renderProperties(id, n, cfg), 0o644); err != nil {
			return fmt.Errorf("local broker: writing %s: %w", props[i], err)
		}
	}

	// Format every node's storage, in parallel: each is a JVM start.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
				"-Dlog4j2.configurationFile="+log4j, "-cp", filepath.Join(libs, "*"),
				"kafka.tools.StorageTool", "format", "--config", props[i], "--cluster-id", cluster)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("local broker: formatting node %d's storage (%s): %w\n%s", i+1, props[i], err, tail(out, 20))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local broker: start cancelled: %w", err)
	}

	l.java, l.libs, l.heap, l.log4j = java, libs, heap, log4j
	for i := range n {
		id := i + 1
		nd := &localNode{id: id, props: props[i], logPath: filepath.Join(l.dir, fmt.Sprintf("node%d.log", id))}
		l.nodes = append(l.nodes, nd)
		if err := l.launch(nd); err != nil {
			return err
		}
	}
	return l.waitReady(ctx, n, ready)
}

// waitReady polls until every node is in the metadata and a group
// coordinator answers, or a node exits, or the bound passes.
func (l *Local) waitReady(ctx context.Context, n int, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		for _, nd := range l.nodes {
			select {
			case <-nd.done:
				return l.exited(nd)
			default:
			}
		}
		// A fresh client per probe: kadm answers BrokerMetadata from kgo's
		// cached broker list, which would keep the first, partial answer.
		cl, err := kgo.NewClient(kgo.SeedBrokers(l.addrs...), kgo.ClientID("commitbench-local-ready"),
			kgo.DialTimeout(time.Second), kgo.RetryTimeout(2*time.Second))
		if err != nil {
			return fmt.Errorf("local broker: readiness client: %w", err)
		}
		msg, ok := probeReady(ctx, kadm.NewClient(cl), n)
		cl.Close()
		if ok {
			if err := l.warmUp(ctx); err != nil {
				return fmt.Errorf("local broker: %w within %s: %w; node logs:%s", ErrNotReady, bound, err, l.logTails(10))
			}
			return nil
		} else if msg != "" {
			last = msg
		}
		select {
		case <-ctx.Done():
			if cerr := context.Cause(ctx); !errors.Is(cerr, context.DeadlineExceeded) {
				return fmt.Errorf("local broker: start cancelled: %w", cerr)
			}
			return fmt.Errorf("local broker: %w within %s at %s (last: %s); node logs:%s",
				ErrNotReady, bound, strings.Join(l.addrs, ","), last, l.logTails(10))
		case <-tick.C:
		}
	}
}

// warmUp creates a topic, produces to it and deletes it. Right after
// start-up a node takes seconds to serve a partition it was just told to
// create (the first one took 2.3 s on 2 cores, later ones 0.1-0.3 s), longer
// than a client's default retries for an unknown topic: without this, the
// first point's seeding could fail with UNKNOWN_TOPIC_OR_PARTITION.
func (l *Local) warmUp(ctx context.Context) error {
	const topic = "commitbench-warm-up"
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.addrs...), kgo.ClientID("commitbench-local-ready"),
		kgo.UnknownTopicRetries(-1), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return fmt.Errorf("warm-up client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, -1, nil, topic); err != nil {
		return fmt.Errorf("creating warm-up topic: %w", err)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		return fmt.Errorf("producing to warm-up topic: %w", err)
	}
	if _, err := adm.DeleteTopic(ctx, topic); err != nil {
		return fmt.Errorf("deleting warm-up topic: %w", err)
	}
	return nil
}

// probeReady asks for metadata — n brokers and a controller — and for the
// coordinator of a probe group, which also creates __consumer_offsets so
// the first point does not pay for it. It returns what is missing, or ok.
// adm should be a fresh client: kadm answers BrokerMetadata from kgo's
// cached broker list.
func probeReady(ctx context.Context, adm *kadm.Client, n int) (string, bool) {
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := adm.BrokerMetadata(actx)
	if err != nil {
		if ctx.Err() != nil {
			return "", false
		}
		return "metadata: " + err.Error(), false
	}
	if len(md.Brokers) < n || md.Controller < 0 {
		return fmt.Sprintf("metadata lists %d of %d brokers, controller %d", len(md.Brokers), n, md.Controller), false
	}
	rs := adm.FindGroupCoordinators(actx, "commitbench-ready-probe")
	for _, r := range rs {
		if r.Err != nil {
			if ctx.Err() != nil {
				return "", false
			}
			return "group coordinator: " + r.Err.Error(), false
		}
	}
	return "", len(rs) == 1
}

// exited explains a node that died during start-up.
func (l *Local) exited(nd *localNode) error {
	out, _ := os.ReadFile(nd.logPath)
	if i := bytes.Index(out, []byte("Address already in use")); i >= 0 {
		line := out[max(0, bytes.LastIndexByte(out[:i], '\n')+1):]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		return fmt.Errorf("local broker: node %d could not bind: %s: %w (another process took it after it was chosen; start again, or set a free port)",
			nd.id, strings.TrimSpace(string(line)), ErrPortTaken)
	}
	return fmt.Errorf("local broker: node %d (pid %d) exited during start-up (%v): %w; log %s ends:\n%s",
		nd.id, nd.cmd.Process.Pid, nd.waitErr, ErrNotReady, nd.logPath, tail(out, 20))
}

func (l *Local) logTails(lines int) string {
	var b strings.Builder
	for _, nd := range l.nodes {
		out, _ := os.ReadFile(nd.logPath)
		fmt.Fprintf(&b, "\n--- node %d (%s):\n%s", nd.id, nd.logPath, tail(out, lines))
	}
	return b.String()
}

// CheckLocal reports whether the local provider can start Kafka with these
// options: Java 17+ is installed and the jars are in the cache. It starts
// nothing; the error says what to install or run.
func CheckLocal(ctx context.Context, o LocalOptions) error {
	if _, _, err := findLibs(o.Libs); err != nil {
		return err
	}
	_, err := findJava(ctx, o.Java)
	return err
}

// Addrs returns the nodes' client addresses on 127.0.0.1.
func (l *Local) Addrs() []string { return slices.Clone(l.addrs) }

// Describe says what the broker is.
func (l *Local) Describe() cluster.Description { return l.desc }

// PIDs returns the nodes' process IDs.
func (l *Local) PIDs() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := make([]int, len(l.nodes))
	for i, nd := range l.nodes {
		pids[i] = nd.cmd.Process.Pid
	}
	return pids
}

// Close stops every node by PID — SIGTERM, then SIGKILL if a node has not
// exited within 30 s — waits for each to be reaped, and removes the
// cluster's directory. It is safe to call more than once.
func (l *Local) Close() error {
	l.once.Do(func() {
		var errs []error
		for _, nd := range l.nodes {
			_ = nd.cmd.Process.Signal(syscall.SIGTERM)
		}
		grace := time.NewTimer(30 * time.Second)
		defer grace.Stop()
		for _, nd := range l.nodes {
			select {
			case <-nd.done:
			case <-grace.C:
				// Expired: SIGKILL this and every later node still running.
				grace.Reset(0)
				fmt.Fprintf(l.log, "local kafka: node %d (pid %d) ignored SIGTERM for 30 s; killing it\n", nd.id, nd.cmd.Process.Pid)
				if err := nd.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
					errs = append(errs, fmt.Errorf("killing Kafka node %d (pid %d): %w", nd.id, nd.cmd.Process.Pid, err))
				}
				<-nd.done
			}
		}
		if err := os.RemoveAll(l.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", l.dir, err))
		}
		l.err = errors.Join(errs...)
	})
	return l.err
}

// findJava resolves the java executable and checks it is Java 17 or newer.
func findJava(ctx context.Context, java string) (string, error) {
	if java == "" {
		java = "java"
		if home := os.Getenv("JAVA_HOME"); home != "" {
			java = filepath.Join(home, "bin", "java")
		}
	}
	path, err := exec.LookPath(java)
	if err != nil {
		return "", fmt.Errorf("local broker: %w: %q not found (%v); install openjdk-17-jre-headless", ErrJavaMissing, java, err)
	}
	out, err := exec.CommandContext(ctx, path, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("local broker: %w: %s -version failed: %v: %s", ErrJavaMissing, path, err, tail(out, 3))
	}
	// `openjdk version "17.0.15" 2025-04-15` or `java version "1.8.0_392"`.
	if _, rest, ok := strings.Cut(string(out), `version "`); ok {
		major, _, _ := strings.Cut(rest, ".")
		if v, err := strconv.Atoi(strings.TrimRight(major, `"`)); err == nil && v < 17 {
			return "", fmt.Errorf("local broker: %w: %s is Java %d; install openjdk-17-jre-headless", ErrJavaMissing, path, v)
		}
	}
	return path, nil
}

// KafkaLibs returns the directory of Kafka's jars that scripts/kafka.sh
// fetch resolved (or libs, when given), and Kafka's version.
func KafkaLibs(libs string) (dir, version string, err error) { return findLibs(libs) }

// findLibs locates the jar directory and reads Kafka's version from it.
func findLibs(libs string) (dir, version string, err error) {
	if libs == "" {
		libs = os.Getenv("COMMITBENCH_KAFKA_LIBS")
	}
	if libs == "" {
		cache := os.Getenv("KAFKA_CACHE")
		if cache == "" {
			root, rerr := repoRoot()
			if rerr != nil {
				return "", "", fmt.Errorf("local broker: %w: %v; run scripts/kafka.sh fetch (or make kafka) in the commitbench repository, or set KAFKA_CACHE or COMMITBENCH_KAFKA_LIBS",
					ErrKafkaJarsMissing, rerr)
			}
			cache = filepath.Join(root, ".cache", "kafka")
		}
		libs = filepath.Join(cache, DefaultKafkaVersion, "libs")
	}
	jars, _ := filepath.Glob(filepath.Join(libs, "kafka_2.13-*.jar"))
	if len(jars) == 0 {
		return "", "", fmt.Errorf("local broker: %w: no kafka_2.13-*.jar in %s; run scripts/kafka.sh fetch (or make kafka)", ErrKafkaJarsMissing, libs)
	}
	v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jars[0]), "kafka_2.13-"), ".jar")
	return libs, v, nil
}

// repoRoot finds the directory holding scripts/kafka.sh (or the one
// $COMMITBENCH_KAFKA_SCRIPT names), searching upwards from the working
// directory.
func repoRoot() (string, error) {
	if s := os.Getenv("COMMITBENCH_KAFKA_SCRIPT"); s != "" {
		abs, err := filepath.Abs(s)
		if err != nil {
			return "", err
		}
		return filepath.Dir(filepath.Dir(abs)), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "scripts", "kafka.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no scripts/kafka.sh in %s or above", wd)
		}
	}
}

// choosePorts returns k ports on 127.0.0.1: base, base+1, … when base is
// set (each must be free), else free ports below the kernel's ephemeral
// range, where the nodes' own outgoing connections cannot take them first.
func choosePorts(k, base int) ([]int, error) {
	free := func(p int) error {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return err
		}
		return ln.Close()
	}
	ports := make([]int, 0, k)
	if base > 0 {
		for p := base; p < base+k; p++ {
			if p > 65535 {
				return nil, fmt.Errorf("local broker: port %d is out of range; choose a lower first port", p)
			}
			if err := free(p); err != nil {
				return nil, fmt.Errorf("local broker: %w: 127.0.0.1:%d (%v); choose another port, or 0 for free ones", ErrPortTaken, p, err)
			}
			ports = append(ports, p)
		}
		return ports, nil
	}
	lo := ephemeralLow()
	for tries := 0; len(ports) < k; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("local broker: %w: found %d free ports on 127.0.0.1 between 10000 and %d, need %d", ErrPortTaken, len(ports), lo, k)
		}
		p := 10000 + rand.IntN(lo-10000)
		if !slices.Contains(ports, p) && free(p) == nil {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 11000 {
				return v
			}
		}
	}
	return 32768
}

// clusterID is a random Kafka cluster ID: 16 bytes, URL-safe base64. Like
// Kafka's own Uuid.randomUuid it never starts with '-', which the storage
// tool's argument parser would take for an option.
func clusterID() string {
	for {
		var b [16]byte
		_, _ = crand.Read(b[:])
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id
		}
	}
}

func renderProperties(id, n int, cfg map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# commitbench local broker: node %d of %d, KRaft combined broker+controller, loopback only.\n", id, n)
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
	}
	return b.Bytes()
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// log4jConfig sends Kafka's log to stdout, which goes to the node's log file.
const log4jConfig = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
`
