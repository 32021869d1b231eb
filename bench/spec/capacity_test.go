package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseCapacityDefaults(t *testing.T) {
	w, err := ParseCapacity([]byte("capacity: {rates: [10, 20]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := w.Capacity
	if w.Broker.Kind != "embedded" || len(c.Groups) != 1 || c.Groups[0] != 8 || c.PartitionsPerCommit[0] != 1 ||
		c.StepDuration.D() != 10*time.Second || c.WarmupD() != time.Second || c.CommitTimeout.D() != 10*time.Second {
		t.Errorf("defaults not applied: %+v", w)
	}
	if len(c.Rates) != 2 || c.Rates[1] != 20 {
		t.Errorf("rates %v", c.Rates)
	}
	if err := DefaultCapacity().Validate(); err != nil {
		t.Errorf("the default sweep is invalid: %v", err)
	}
}

func TestCapacityBadInput(t *testing.T) {
	cases := []struct {
		name, yaml, field, fix string
	}{
		{"a run workload", "topic: {records: 10}\n", "", "commitbench run"},
		{"unknown field", "capacity: {ratez: [1]}\n", "", `unknown field "ratez"`},
		{"zero groups", "capacity: {groups: [0]}\n", "capacity.groups[0]", "1 to 100000"},
		{"repeated groups", "capacity: {groups: [4, 4]}\n", "capacity.groups[1]", "once"},
		{"negative partitions", "capacity: {partitions_per_commit: [-1]}\n", "capacity.partitions_per_commit[0]", "1 to 10000"},
		{"zero rate", "capacity: {rates: [0]}\n", "capacity.rates[0]", "more than 0"},
		{"repeated rate", "capacity: {rates: [5, 5]}\n", "capacity.rates[1]", "once"},
		{"bare number step", "capacity: {step_duration: 5}\n", "", "not a duration"},
		{"short step", "capacity: {step_duration: 10ms}\n", "capacity.step_duration", `"100ms" to "1h"`},
		{"warm-up as long as the step", "capacity: {step_duration: 1s, warmup: 1s}\n", "capacity.warmup", "less than capacity.step_duration"},
		{"commit timeout", "capacity: {commit_timeout: 1ms}\n", "capacity.commit_timeout", `"100ms" to "5m"`},
		{"delay on a real broker", "broker: {kind: local, commit_delay: 2ms}\n", "broker.commit_delay", "embedded"},
		{"external without bootstrap", "broker: {kind: external}\n", "broker.bootstrap", "host:port"},
		{"unknown broker", "broker: {kind: mainframe}\n", "broker.kind", "embedded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCapacity([]byte(c.yaml))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *spec.Error", err)
			}
			if se.Field != c.field {
				t.Errorf("field %q, want %q (%v)", se.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), c.fix) {
				t.Errorf("error %q does not mention %q", err, c.fix)
			}
		})
	}
	// A capacity file given to run says which command reads it; a nested
	// field of the same name gets no such hint.
	if _, err := Parse([]byte(valid + "capacity: {rates: [1]}\n")); err == nil || !strings.Contains(err.Error(), "commitbench capacity") {
		t.Errorf("run workload with a capacity section: %v", err)
	}
	if _, err := Parse([]byte(valid + "client: {capacity: 1}\n")); err == nil || strings.Contains(err.Error(), "commitbench capacity") {
		t.Errorf("nested unknown field: %v", err)
	}
}

// Every shipped capacity file is valid.
func TestShippedCapacityFiles(t *testing.T) {
	files, _ := filepath.Glob("../../workloads/capacity/*.yaml")
	if len(files) == 0 {
		t.Fatal("no capacity files shipped")
	}
	for _, f := range files {
		w, err := LoadCapacity(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if w.Name == "" {
			t.Errorf("%s: no name", f)
		}
	}
}
