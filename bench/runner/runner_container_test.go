package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/broker/brokertest"
)

// startContainerBroker starts real Kafka in a container (see
// scripts/podman.sh), skipping unless DOCKER_HOST is set and the image is
// there — failing instead when COMMITBENCH_REQUIRE_CONTAINER=1 (CI).
func startContainerBroker(t *testing.T) broker.Broker {
	t.Helper()
	brokertest.Require(t, "COMMITBENCH_REQUIRE_CONTAINER", brokertest.DockerHost())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if img, err := broker.CheckContainer(ctx, broker.ContainerOptions{}); err != nil {
		brokertest.Require(t, "COMMITBENCH_REQUIRE_CONTAINER", fmt.Errorf("the container broker cannot start %s: %w", img, err))
	}
	var log brokertest.LogBuffer
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

// Real Kafka in a container: at-least-once with synchronous commits
// across two SIGKILLs loses no record and no crash replays more than one
// commit interval; a group of three rolls under both protocols.
func TestOnContainer(t *testing.T) {
	b := startContainerBroker(t)
	t.Run("crashes", func(t *testing.T) {
		const n = 1000
		res := runOn(t, b, crashWorkload(t, "at-least-once-sync", n, 2))
		if res.Broker.Kind != "container" {
			t.Errorf("result says broker %+v; want kind container", res.Broker)
		}
		checkAtLeastOnce(t, res, n)
	})
	for _, g := range []string{rollingClassic, rollingConsumer} {
		t.Run(g, func(t *testing.T) { checkCleanRollingRestart(t, b, g) })
	}
}
