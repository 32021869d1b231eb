package brokertest

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

// Require skips the test when err says a service it needs is missing, or
// fails it instead when the environment variable env is "1" — as CI sets
// it — so CI never skips an integration suite silently.
func Require(t testing.TB, env string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(env) == "1" {
		t.Fatalf("%s=1, but: %v", env, err)
	}
	t.Skipf("%v (set %s=1 to fail instead)", err, env)
}

// LogBuffer collects a provider's progress log from its goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// DockerHost reports a missing container runtime: testcontainers-go finds
// podman's Docker API through DOCKER_HOST.
func DockerHost() error {
	if os.Getenv("DOCKER_HOST") == "" {
		return errors.New(`no container runtime: DOCKER_HOST is unset; run scripts/podman.sh install, then eval "$(scripts/podman.sh start)"`)
	}
	return nil
}
