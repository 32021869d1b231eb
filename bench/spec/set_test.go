package spec

import (
	"strings"
	"testing"
	"time"
)

func TestWith(t *testing.T) {
	w, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.With([]string{"processing.cpu_us=3", "client.fetch_max_wait=50ms", "broker.commit_delay=500us"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Processing.CPUMicros != 3 || c.Client.FetchMaxWait.D() != 50*time.Millisecond || c.Broker.CommitDelay.D() != 500*time.Microsecond {
		t.Errorf("candidate %+v %+v %+v", c.Processing, c.Client, c.Broker)
	}
	if w.Processing.CPUMicros != 0 {
		t.Error("the baseline changed")
	}
	if c.Name != w.Name || len(c.Strategies) != len(w.Strategies) || c.Repetitions != w.Repetitions {
		t.Errorf("the rest did not carry over: %+v", c)
	}
	for set, want := range map[string]string{
		"processing.cpu_ms=3":     `unknown field "cpu_ms"`,
		"processing.cpu_us=fast":  "processing",
		"client.fetch_max_wait=5": "not a duration",
		"topic=3":                 "topic",
		"nonsense":                "path=value",
	} {
		if _, err := w.With([]string{set}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", set, err, want)
		}
	}
}
