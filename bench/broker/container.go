package broker

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Labels every container the container provider starts carries, besides
// testcontainers' own org.testcontainers=true: scripts/podman.sh stop
// removes whatever a crashed run left, since the reaper (Ryuk) is off where
// its image cannot be pulled.
const (
	// ContainerLabel marks a container as a commitbench container broker.
	ContainerLabel = "commitbench"
	// ContainerLabelValue is ContainerLabel's value.
	ContainerLabelValue = "container-broker"
	// ContainerStartLabel holds a random ID per start, so that a failed
	// start finds and removes exactly what it created.
	ContainerStartLabel = "commitbench.start"
)

// containerControllerPort is the KRaft controller's port inside the
// container, on its loopback only.
const containerControllerPort = 9093

// LocalImageRepository is the image scripts/podman.sh image builds, tagged
// with the Kafka version, for machines where no registry can be reached.
const LocalImageRepository = "localhost/commitbench-kafka"

// ErrContainerRuntime: no Docker API answers (no Docker engine, or the
// podman service is not running, or DOCKER_HOST points nowhere).
var ErrContainerRuntime = errors.New("no container runtime answers")

// ErrImageMissing: the image is neither present nor pullable.
var ErrImageMissing = errors.New("the Kafka image is not available")

// ContainerOptions configure the container provider: one real Apache Kafka
// node (KRaft, combined broker and controller) in a container started by
// testcontainers-go, reachable on 127.0.0.1.
type ContainerOptions struct {
	// Image is the Kafka image. Empty means $COMMITBENCH_KAFKA_IMAGE, else
	// apache/kafka:<DefaultKafkaVersion> (the official image, pulled where a
	// registry is reachable). Without a registry, scripts/podman.sh image
	// builds localhost/commitbench-kafka:<version>, which reads the same
	// KAFKA_* variables.
	Image string
	// Port is the client port, the same on the host (bound to 127.0.0.1)
	// and in the container, and advertised as 127.0.0.1:Port. 0 picks a
	// free one below the ephemeral range.
	Port int
	// ReadyTimeout bounds the container start, the wait for Kafka's
	// "Kafka Server started" and for metadata and a group coordinator to
	// answer; 0 means 3 minutes.
	ReadyTimeout time.Duration
	// Heap is the broker's JVM heap (-Xms and -Xmx); empty means 512m.
	Heap string
	// Config sets or overrides server.properties entries (passed as
	// KAFKA_* variables, the official image's convention).
	Config map[string]string
	// Log receives progress (image, port, container ID, start-up time) and
	// testcontainers' own messages. Nil discards them.
	Log io.Writer
}

// Container is one Kafka node in a container, on a fixed loopback port.
type Container struct {
	ctr   *testcontainers.DockerContainer
	addrs []string
	desc  cluster.Description
	log   io.Writer
	once  sync.Once
	err   error
}

// containerImage resolves the image option.
func containerImage(img string) string {
	if img != "" {
		return img
	}
	if env := os.Getenv("COMMITBENCH_KAFKA_IMAGE"); env != "" {
		return env
	}
	return "apache/kafka:" + DefaultKafkaVersion
}

// CheckContainer reports whether the container provider can start with
// these options without pulling: a Docker API answers and the image is
// present. It starts nothing; the error names the fix. It returns the
// image it checked.
func CheckContainer(ctx context.Context, o ContainerOptions) (string, error) {
	img := containerImage(o.Image)
	present, err := checkImage(ctx, img)
	if err == nil && !present {
		err = imageMissing(img, errors.New("not present"))
	}
	return img, err
}

// checkImage reports whether img is present. An image outside localhost/
// that is absent is not an error: testcontainers pulls it.
func checkImage(ctx context.Context, img string) (bool, error) {
	cli, err := containerClient(ctx)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if strings.HasPrefix(img, "localhost/") || !isNotFound(err) {
			return false, imageMissing(img, err)
		}
		return false, nil
	}
	return true, nil
}

func imageMissing(img string, err error) error {
	if strings.HasPrefix(img, "localhost/") {
		return fmt.Errorf("container broker: %w: image %s: %v; build it with scripts/podman.sh image (or make container-image)", ErrImageMissing, img, err)
	}
	return fmt.Errorf("container broker: %w: image %s: %v; pull it (docker pull %s), or where no registry is reachable build %s:%s with scripts/podman.sh image and set COMMITBENCH_KAFKA_IMAGE to it",
		ErrImageMissing, img, err, img, LocalImageRepository, DefaultKafkaVersion)
}

// containerClient connects to the Docker API testcontainers uses.
func containerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("container broker: %w (DOCKER_HOST=%q): %v; start one with `eval \"$(scripts/podman.sh start)\"` (after scripts/podman.sh install), or start Docker",
			ErrContainerRuntime, os.Getenv("DOCKER_HOST"), err)
	}
	return cli, nil
}

// StartContainer starts one Kafka node in a container and waits until it
// answers metadata and a group coordinator is available. The container
// listens on o.Port (a free port when 0) and the host reaches it through a
// fixed mapping 127.0.0.1:Port→Port, so the address Kafka advertises,
// 127.0.0.1:Port, is right both inside the container and on the host. On
// any failure it removes every container it created before returning.
func StartContainer(ctx context.Context, o ContainerOptions) (*Container, error) {
	if o.Port == containerControllerPort {
		return nil, fmt.Errorf("container broker: port %d is the controller's inside the container; choose another, or 0 for a free one", o.Port)
	}
	ready := o.ReadyTimeout
	if ready <= 0 {
		ready = 3 * time.Minute
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	img := containerImage(o.Image)
	present, err := checkImage(ctx, img)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ready)
	defer cancel()

	// A free port can be taken by someone else between the check and the
	// container's bind: try again on another one, unless it was chosen.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := o.Port
		if port == 0 {
			if port, err = containerFreePort(); err != nil {
				return nil, err
			}
		}
		c, err := startContainer(ctx, img, port, o, logw, ready)
		if err == nil {
			return c, nil
		}
		if !present && strings.Contains(err.Error(), "pull") {
			return nil, errors.Join(imageMissing(img, errors.New("pulling failed")), err)
		}
		lastErr = err
		if o.Port != 0 || !strings.Contains(err.Error(), "address already in use") || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(logw, "container kafka: port %d was taken before the container bound it; trying another\n", port)
	}
	return nil, lastErr
}

func startContainer(ctx context.Context, img string, port int, o ContainerOptions, logw io.Writer, ready time.Duration) (*Container, error) {
	heap := o.Heap
	if heap == "" {
		heap = "512m"
	}
	startID := containerRandomID()
	cfg := map[string]string{
		"node.id":                                          "1",
		"process.roles":                                    "broker,controller",
		"listeners":                                        fmt.Sprintf("PLAINTEXT://:%d,CONTROLLER://localhost:9093", port),
		"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port),
		"controller.quorum.voters":                         "1@localhost:9093",
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                         "/tmp/kraft-combined-logs",
		"num.partitions":                                   "1",
		"default.replication.factor":                       "1",
		"min.insync.replicas":                              "1",
		"offsets.topic.replication.factor":                 "1",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
	}
	maps.Copy(cfg, groupTimeoutFloors())
	maps.Copy(cfg, o.Config)
	env := map[string]string{
		"CLUSTER_ID":      clusterID(),
		"KAFKA_HEAP_OPTS": "-Xms" + heap + " -Xmx" + heap,
	}
	for k, v := range cfg {
		env[KafkaEnvName(k)] = v
	}
	cport := network.MustParsePort(fmt.Sprintf("%d/tcp", port))
	t0 := time.Now()
	fmt.Fprintf(logw, "container kafka: starting %s on 127.0.0.1:%d\n", img, port)
	ctr, err := testcontainers.Run(ctx, img,
		testcontainers.WithLogger(containerLogger{logw}),
		testcontainers.WithEnv(env),
		testcontainers.WithLabels(map[string]string{
			ContainerLabel:      ContainerLabelValue,
			ContainerStartLabel: startID,
		}),
		testcontainers.WithExposedPorts(cport.String()),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{cport: {{
				HostIP:   netip.AddrFrom4([4]byte{127, 0, 0, 1}),
				HostPort: strconv.Itoa(port),
			}}}
		}),
		// A log line, not a port check: a port check runs /bin/sh inside
		// the container unless told not to, and an open port comes before
		// Kafka answers anyway. The metadata probe below is the real test.
		testcontainers.WithWaitStrategy(wait.ForLog("Kafka Server started").WithStartupTimeout(ready)),
	)
	if err != nil {
		cerr := removeStarted(ctr, startID)
		return nil, errors.Join(fmt.Errorf("container broker: starting %s on 127.0.0.1:%d: %w%s", img, port, err, containerLogTail(ctr)), cerr)
	}
	c := &Container{ctr: ctr, addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}, log: logw}
	if err := c.waitReady(ctx); err != nil {
		cerr := removeStarted(ctr, startID)
		return nil, errors.Join(fmt.Errorf("%w%s", err, containerLogTail(ctr)), cerr)
	}
	took := time.Since(t0)
	version := imageKafkaVersion(ctx, ctr)
	fmt.Fprintf(logw, "container kafka: Apache Kafka %s (image %s, container %s) ready in %s at %s\n",
		version, img, shortID(ctr.GetContainerID()), took.Round(10*time.Millisecond), c.addrs[0])
	c.desc = cluster.Description{
		Kind:               "container",
		Version:            fmt.Sprintf("Apache Kafka %s (image %s)", version, img),
		Brokers:            1,
		OffsetsReplication: 1,
		Note: fmt.Sprintf("real Apache Kafka %s (KRaft, one combined broker+controller node) in a container (image %s) reached through a port mapping on 127.0.0.1: container networking but no network latency",
			version, img),
		StartupSeconds: took.Seconds(),
	}
	return c, nil
}

// KafkaEnvName is the environment variable the official apache/kafka image
// (and commitbench's own image) turns into the server.properties key k:
// "." becomes "_", "_" becomes "__", "-" becomes "___", upper-cased, with
// the prefix KAFKA_. For example group.min.session.timeout.ms is
// KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS.
func KafkaEnvName(k string) string {
	k = strings.ReplaceAll(k, "_", "__")
	k = strings.ReplaceAll(k, "-", "___")
	k = strings.ReplaceAll(k, ".", "_")
	return "KAFKA_" + strings.ToUpper(k)
}

// waitReady polls until the broker answers metadata and a group
// coordinator, or ctx ends.
func (c *Container) waitReady(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.ClientID("commitbench-container-ready"),
		kgo.DialTimeout(time.Second), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("container broker: readiness client: %w", err)
	}
	defer cl.Close()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		if msg, ok := containerProbe(ctx, cl); ok {
			return nil
		} else if msg != "" {
			last = msg
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container broker: %w at %s (last: %s): %w", ErrNotReady, c.addrs[0], last, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// containerProbe asks for metadata (a raw request, not kgo's cache) and for
// the coordinator of a probe group, which also creates __consumer_offsets
// so that the first point does not pay for it.
func containerProbe(ctx context.Context, cl *kgo.Client) (string, bool) {
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	md, err := req.RequestWith(actx, cl)
	if err != nil {
		return "metadata: " + err.Error(), false
	}
	if len(md.Brokers) < 1 || md.ControllerID < 0 {
		return fmt.Sprintf("metadata lists %d brokers, controller %d", len(md.Brokers), md.ControllerID), false
	}
	rs := kadm.NewClient(cl).FindGroupCoordinators(actx, "commitbench-ready-probe")
	for _, r := range rs {
		if r.Err != nil {
			return "group coordinator: " + r.Err.Error(), false
		}
	}
	return "", len(rs) == 1
}

// removeStarted terminates ctr, if any, and every other container this
// start created (found by its start label), so a failed start leaves
// nothing behind even when testcontainers returned no handle.
func removeStarted(ctr *testcontainers.DockerContainer, startID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if ctr != nil {
		if err := testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx), testcontainers.StopTimeout(5*time.Second)); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(ctr.GetContainerID()), err))
		}
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing containers to remove: %w", err))...)
	}
	defer cli.Close()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", ContainerStartLabel+"="+startID),
	})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("listing containers to remove: %w", err))...)
	}
	for _, s := range res.Items {
		if _, err := cli.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(s.ID), err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("container broker: cleanup after a failed start: %w (remove them with scripts/podman.sh stop, or podman rm -f)", errors.Join(errs...))
	}
	return nil
}

// containerLogTail is the end of the container's output, for errors.
func containerLogTail(ctr *testcontainers.DockerContainer) string {
	if ctr == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	out, _ := io.ReadAll(io.LimitReader(rc, 8<<20))
	if len(out) == 0 {
		return ""
	}
	return "; container log ends:\n" + tail(out, 20)
}

// imageKafkaVersion asks the running broker's image which Kafka it holds:
// the KAFKA_VERSION variable (commitbench's image), else the kafka jar's
// name (the official image), else the image tag.
func imageKafkaVersion(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	if insp, err := ctr.Inspect(ctx); err == nil && insp.Config != nil {
		for _, e := range insp.Config.Env {
			if v, ok := strings.CutPrefix(e, "KAFKA_VERSION="); ok && v != "" {
				return v
			}
		}
	}
	if rc, err := ctr.CopyFileFromContainer(ctx, "/opt/kafka/VERSION"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(rc, 64))
		rc.Close()
		if v := strings.TrimSpace(string(b)); v != "" {
			return v
		}
	}
	img := ctr.Image
	if i := strings.LastIndexByte(img, ':'); i >= 0 && !strings.Contains(img[i:], "/") {
		return img[i+1:]
	}
	return "(unknown version)"
}

// Addrs returns the broker's address on 127.0.0.1.
func (c *Container) Addrs() []string { return slices.Clone(c.addrs) }

// Describe says what the broker is.
func (c *Container) Describe() cluster.Description { return c.desc }

// ID returns the container's ID.
func (c *Container) ID() string { return c.ctr.GetContainerID() }

// Close stops and removes the container (Kafka gets 10 s to shut down
// cleanly). It is safe to call more than once.
func (c *Container) Close() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		id := shortID(c.ctr.GetContainerID())
		if err := testcontainers.TerminateContainer(c.ctr, testcontainers.StopContext(ctx), testcontainers.StopTimeout(10*time.Second)); err != nil {
			c.err = fmt.Errorf("container broker: removing container %s: %w (remove it with podman rm -f %s)", id, err, id)
			return
		}
		fmt.Fprintf(c.log, "container kafka: container %s removed\n", id)
	})
	return c.err
}

// containerFreePort returns a free port on 127.0.0.1 below the kernel's
// ephemeral range, where outgoing connections cannot take it first.
func containerFreePort() (int, error) {
	lo := ephemeralLow()
	for range 1000 {
		p := 10000 + rand.IntN(lo-10000)
		if p == containerControllerPort {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("container broker: %w: no free port on 127.0.0.1 between 10000 and %d; set a port", ErrPortTaken, lo)
}

func containerRandomID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isNotFound reports a Docker API "no such object" error (the errdefs
// convention both Docker and podman's compatible API follow).
func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	return errors.As(err, &nf)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// containerLogger sends testcontainers' messages to the provider's log.
type containerLogger struct{ w io.Writer }

func (l containerLogger) Printf(format string, v ...any) {
	fmt.Fprintf(l.w, "testcontainers: "+strings.TrimRight(format, "\n")+"\n", v...)
}
