package gate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Thresholds are the limits of one workload. A field left out falls back to
// the defaults, so an override names only what it changes.
type Thresholds struct {
	// Alpha sets the confidence intervals' level, 1-Alpha (0.05: 95%).
	Alpha *float64 `yaml:"alpha"`
	// ThroughputDropPct is the largest tolerated drop of the throughput
	// (and of its share of the ceiling), in percent.
	ThroughputDropPct *float64 `yaml:"throughput_drop_pct"`
	// CommitP99RisePct is the largest tolerated rise of the commit latency
	// p99, in percent.
	CommitP99RisePct *float64 `yaml:"commit_latency_p99_rise_pct"`
	// RecoveryRisePct is the largest tolerated rise of the mean recovery
	// time after a crash, in percent.
	RecoveryRisePct *float64 `yaml:"recovery_time_rise_pct"`
}

// Limits are resolved thresholds: every field set.
type Limits struct {
	Alpha             float64
	ThroughputDropPct float64
	CommitP99RisePct  float64
	RecoveryRisePct   float64
}

// Config is a gates.yaml file: default thresholds and per-workload
// overrides.
type Config struct {
	// Source says where the config came from, for the report header.
	Source string `yaml:"-"`
	// Defaults apply to every workload; unset fields take DefaultLimits.
	Defaults Thresholds `yaml:"defaults"`
	// Workloads overrides thresholds by workload name (Result.Workload).
	Workloads map[string]Thresholds `yaml:"workloads"`
	// Absolute gates absolute throughput and commit latency against a
	// stored baseline too, for a dedicated machine whose speed does not
	// drift; by default only the share of the ceiling is.
	Absolute bool `yaml:"absolute"`
}

// DefaultLimits are used where gates.yaml says nothing: loose enough that
// shared CI runners do not trip them, tight enough to catch a real slowdown.
func DefaultLimits() Limits {
	return Limits{Alpha: 0.05, ThroughputDropPct: 10, CommitP99RisePct: 25, RecoveryRisePct: 50}
}

// LoadConfig reads gates.yaml at path; an empty path gives the defaults.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		return Config{Source: "built-in defaults"}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading gate config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

// ParseConfig decodes and validates a gates.yaml document. Unknown fields
// are errors: a misspelt threshold must not silently fall back to a default.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("not a gate config (fields: defaults, workloads, absolute): %w", err)
	}
	if err := c.Defaults.validate("defaults"); err != nil {
		return Config{}, err
	}
	for _, name := range c.workloadNames() {
		if err := c.Workloads[name].validate("workloads." + name); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// For resolves the limits of one workload: its override, then the
// defaults, then DefaultLimits.
func (c Config) For(workload string) Limits {
	l := DefaultLimits()
	c.Defaults.apply(&l)
	if o, ok := c.Workloads[workload]; ok {
		o.apply(&l)
	}
	return l
}

func (c Config) workloadNames() []string {
	names := make([]string, 0, len(c.Workloads))
	for n := range c.Workloads {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (t Thresholds) apply(l *Limits) {
	set := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&l.Alpha, t.Alpha)
	set(&l.ThroughputDropPct, t.ThroughputDropPct)
	set(&l.CommitP99RisePct, t.CommitP99RisePct)
	set(&l.RecoveryRisePct, t.RecoveryRisePct)
}

func (t Thresholds) validate(at string) error {
	if t.Alpha != nil && !(*t.Alpha > 0 && *t.Alpha < 1) {
		return fmt.Errorf("%s.alpha: %v is not between 0 and 1; use e.g. 0.05", at, *t.Alpha)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"throughput_drop_pct", t.ThroughputDropPct},
		{"commit_latency_p99_rise_pct", t.CommitP99RisePct},
		{"recovery_time_rise_pct", t.RecoveryRisePct},
	} {
		if f.v != nil && *f.v < 0 {
			return fmt.Errorf("%s.%s: %v is negative; give a percentage such as 10", at, f.name, *f.v)
		}
	}
	return nil
}
