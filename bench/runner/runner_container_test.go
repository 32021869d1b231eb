package runner

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
)

// startContainerBroker starts real Kafka in a container (see
// scripts/podman.sh), skipping unless DOCKER_HOST is set and the image is
// there — failing instead when COMMITBENCH_REQUIRE_CONTAINER=1 (CI).
func startContainerBroker(t *testing.T) broker.Broker {
	t.Helper()
	fail := os.Getenv("COMMITBENCH_REQUIRE_CONTAINER") == "1"
	if os.Getenv("DOCKER_HOST") == "" {
		if fail {
			t.Fatal("COMMITBENCH_REQUIRE_CONTAINER=1 but DOCKER_HOST is unset: run scripts/podman.sh install, then eval \"$(scripts/podman.sh start)\"")
		}
		t.Skip("no container runtime: DOCKER_HOST is unset (scripts/podman.sh start prints it; set COMMITBENCH_REQUIRE_CONTAINER=1 to fail instead)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if img, err := broker.CheckContainer(ctx, broker.ContainerOptions{}); err != nil {
		if fail {
			t.Fatalf("COMMITBENCH_REQUIRE_CONTAINER=1 but the container broker cannot start %s: %v", img, err)
		}
		t.Skipf("container broker not available (set COMMITBENCH_REQUIRE_CONTAINER=1 to fail instead): %v", err)
	}
	var log lockedBuffer
	b, err := broker.StartContainer(ctx, broker.ContainerOptions{Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// At-least-once with synchronous commits against real Kafka in a
// container: two SIGKILLs, no record lost, no crash replaying more than
// one commit interval.
func TestAtLeastOnceSyncOnContainer(t *testing.T) {
	b := startContainerBroker(t)
	const n = 1000
	res := runOn(t, b, crashWorkload(t, "at-least-once-sync", n, 2))
	if res.Broker.Kind != "container" {
		t.Errorf("result says broker %+v; want kind container", res.Broker)
	}
	checkAtLeastOnce(t, res, n)
}

// lockedBuffer collects the provider's progress log from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
