package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CapacityWorkload is a coordinator capacity sweep file: the broker, and
// the committers and commit rates to drive it with (`commitbench
// capacity`). It is a file of its own kind: a run workload's fields are
// unknown in it, and its capacity section is unknown in a run workload.
type CapacityWorkload struct {
	// Name identifies the sweep in results; defaults to the file name.
	Name string `yaml:"name" json:"name"`
	// Description is free text for reports.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Broker selects the broker, as in a run workload.
	Broker Broker `yaml:"broker" json:"broker"`
	// Capacity is what to sweep.
	Capacity Capacity `yaml:"capacity" json:"capacity"`
}

// Capacity is the sweep: every number of groups × partitions per commit is
// a series, and every series steps through the rates from the lowest.
type Capacity struct {
	// Groups are the numbers of committers, each committing for a consumer
	// group of its own without joining it.
	Groups []int `yaml:"groups" json:"groups"`
	// PartitionsPerCommit are how many partitions each OffsetCommit
	// carries (each is one record in __consumer_offsets on Kafka).
	PartitionsPerCommit []int `yaml:"partitions_per_commit" json:"partitions_per_commit"`
	// Rates are the aggregate target commit rates, commits/s over all
	// committers of a step.
	Rates []float64 `yaml:"rates" json:"rates_per_s"`
	// StepDuration is how long each rate is held.
	StepDuration Duration `yaml:"step_duration" json:"step_duration_ns"`
	// Warmup is the start of each step left out of its figures (0: a tenth
	// of the step).
	Warmup Duration `yaml:"warmup" json:"warmup_ns"`
	// CommitTimeout fails a commit that has no answer this long after it
	// was sent.
	CommitTimeout Duration `yaml:"commit_timeout" json:"commit_timeout_ns"`
}

// DefaultCapacity is the sweep a file or the command line does not change:
// 8 groups, one partition per commit, 100 to 5,000 commits/s, 10 s steps.
func DefaultCapacity() *CapacityWorkload {
	w := &CapacityWorkload{Name: "capacity"}
	w.applyDefaults()
	return w
}

func (w *CapacityWorkload) applyDefaults() {
	if w.Broker.Kind == "" {
		w.Broker.Kind = defaults.Broker.Kind
	}
	if w.Broker.TopicPrefix == "" {
		w.Broker.TopicPrefix = "commitbench-"
	}
	c := &w.Capacity
	if len(c.Groups) == 0 {
		c.Groups = []int{8}
	}
	if len(c.PartitionsPerCommit) == 0 {
		c.PartitionsPerCommit = []int{1}
	}
	if len(c.Rates) == 0 {
		c.Rates = []float64{100, 200, 500, 1000, 2000, 5000}
	}
	if c.StepDuration == 0 {
		c.StepDuration = Duration(10 * time.Second)
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = Duration(10 * time.Second)
	}
}

// WarmupD is the warm-up of each step: Warmup, or a tenth of the step.
func (c Capacity) WarmupD() time.Duration {
	if c.Warmup > 0 {
		return c.Warmup.D()
	}
	return c.StepDuration.D() / 10
}

// Committers is the most committers any step runs at once.
func (c Capacity) Committers() int { return slices.Max(c.Groups) }

// ParseCapacity decodes a capacity sweep file, fills in defaults and
// validates it. Unknown fields are errors.
func ParseCapacity(data []byte) (*CapacityWorkload, error) {
	var w CapacityWorkload
	if err := decodeStrict(data, &w, map[string]string{
		"topic": "this is a run workload: run it with `commitbench run FILE`", "strategies": "this is a run workload: run it with `commitbench run FILE`",
	}); err != nil {
		return nil, err
	}
	w.applyDefaults()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return &w, nil
}

// LoadCapacity reads, defaults and validates a capacity sweep file.
func LoadCapacity(path string) (*CapacityWorkload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading capacity file: %w", err)
	}
	w, err := ParseCapacity(data)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = path
			return nil, se
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if w.Name == "" {
		w.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return w, nil
}

// Validate checks every field and returns the first problem as an *Error
// naming the field and the fix.
func (w *CapacityWorkload) Validate() error {
	if !slices.Contains(BrokerKinds, w.Broker.Kind) {
		return bad("broker.kind", fmt.Sprintf("unknown broker %q", w.Broker.Kind), "use one of: "+strings.Join(BrokerKinds, ", "))
	}
	if err := w.Broker.validate(); err != nil {
		return err
	}
	if w.Broker.CommitDelay < 0 {
		return bad("broker.commit_delay", "must not be negative", `use "0s" for none or a latency such as "2ms"`)
	}
	if w.Broker.CommitDelay > 0 && w.Broker.Kind != "embedded" {
		return bad("broker.commit_delay", fmt.Sprintf("only the embedded broker can delay commits, not %s", w.Broker.Kind), "remove it, or use kind: embedded")
	}
	c := w.Capacity
	if err := eachIn("capacity.groups", c.Groups, 1, 100_000, "use 1 to 100000 committers"); err != nil {
		return err
	}
	if err := eachIn("capacity.partitions_per_commit", c.PartitionsPerCommit, 1, 10_000, "use 1 to 10000 partitions"); err != nil {
		return err
	}
	for i, r := range c.Rates {
		field := fmt.Sprintf("capacity.rates[%d]", i)
		if !(r > 0 && r <= 1_000_000) {
			return bad(field, fmt.Sprintf("%g commits/s is out of range", r), "use more than 0 and at most 1000000 commits/s")
		}
		if j := slices.Index(c.Rates, r); j < i {
			return bad(field, fmt.Sprintf("duplicates capacity.rates[%d]", j), "list each rate once")
		}
	}
	step, warm := c.StepDuration.D(), c.WarmupD()
	switch {
	case step < 100*time.Millisecond || step > time.Hour:
		return bad("capacity.step_duration", fmt.Sprintf("%s is out of range", c.StepDuration), `use "100ms" to "1h" (e.g. "10s")`)
	case c.Warmup < 0 || warm >= step:
		return bad("capacity.warmup", fmt.Sprintf("%s leaves nothing of a %s step to measure", warm, step), "use less than capacity.step_duration (0: a tenth of it)")
	case c.CommitTimeout.D() < 100*time.Millisecond || c.CommitTimeout.D() > 5*time.Minute:
		return bad("capacity.commit_timeout", fmt.Sprintf("%s is out of range", c.CommitTimeout), `use "100ms" to "5m"`)
	}
	return nil
}

// eachIn checks that every value of a list lies in [lo, hi] and appears
// once.
func eachIn(field string, vs []int, lo, hi int, fix string) error {
	for i, v := range vs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if v < lo || v > hi {
			return bad(f, fmt.Sprintf("%d is out of range", v), fix)
		}
		if j := slices.Index(vs, v); j < i {
			return bad(f, fmt.Sprintf("duplicates %s[%d]", field, j), "list each value once")
		}
	}
	return nil
}
