package gate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// Diff is one setting that differs between two results that were meant to
// be measured alike.
type Diff struct {
	// Field is the setting's path in the results file, e.g. broker.version.
	Field string
	// Baseline and Current are the two values as JSON; within one side
	// they are the first and a later repetition.
	Baseline, Current string
	// Keys are the points where it differs.
	Keys []string
}

// MismatchError says the baseline and current results were not measured
// under the same settings, so comparing them would mislead.
type MismatchError struct {
	// Side is "baseline", "current", or "" when the two sides disagree.
	Side  string
	Diffs []Diff
}

func (e *MismatchError) Error() string {
	head := "baseline and current were measured under different settings; refusing to compare (if the change is intended, record a new baseline):"
	a, b := "baseline", "current"
	if e.Side != "" {
		head = e.Side + ": the repetitions of a point were measured under different settings:"
		a, b = "first repetition", "later repetition"
	}
	var sb strings.Builder
	sb.WriteString(head)
	for _, d := range e.Diffs {
		where := d.Keys[0]
		if len(d.Keys) > 1 {
			where = fmt.Sprintf("%s and %d more points", d.Keys[0], len(d.Keys)-1)
		}
		fmt.Fprintf(&sb, "\n  %s differs: %s %s, %s %s (%s)", d.Field, a, d.Baseline, b, d.Current, where)
	}
	return sb.String()
}

// settings is everything about a result that must match for its figures to
// be comparable. JSON names follow the results file so a Diff names the
// field the user can look up. Env is left out on purpose: a new Go or
// franz-go version is exactly what a gate should judge.
type settings struct {
	Workload           string          `json:"workload"`
	Strategy           string          `json:"strategy"`
	IntervalKind       string          `json:"interval_kind"`
	CommitEveryRecords int64           `json:"commit_every_records"`
	CommitEveryMs      float64         `json:"commit_every_ms"`
	Topic              spec.Topic      `json:"topic"`
	Processing         spec.Processing `json:"processing"`
	Client             spec.Client     `json:"client"`
	Crashes            spec.Crashes    `json:"crash_plan"`
	Broker             struct {
		Kind                  string `json:"kind"`
		Version               string `json:"version"`
		Brokers               int    `json:"brokers"`
		OffsetsReplication    int    `json:"offsets_replication"`
		EmulatedCommitDelayNs int64  `json:"emulated_commit_delay_ns"`
	} `json:"broker"`
}

func settingsOf(r results.Result) map[string]string {
	s := settings{
		Workload: r.Workload, Strategy: r.Strategy, IntervalKind: r.IntervalKind,
		CommitEveryRecords: r.CommitEveryRecords, CommitEveryMs: r.CommitEveryMs,
		Topic: r.Topic, Processing: r.Processing, Client: r.Client, Crashes: r.Crashes,
	}
	s.Broker.Kind = r.Broker.Kind
	s.Broker.Version = r.Broker.Version
	s.Broker.Brokers = r.Broker.Brokers
	s.Broker.OffsetsReplication = r.Broker.OffsetsReplication
	s.Broker.EmulatedCommitDelayNs = r.Broker.EmulatedCommitDelayNs

	// Round-tripping through JSON names every leaf by its results-file path.
	var tree map[string]any
	b, err := json.Marshal(s)
	if err == nil {
		err = json.Unmarshal(b, &tree)
	}
	if err != nil { // only NaN or Inf settings, which no results file holds
		return map[string]string{"settings": fmt.Sprintf("%+v", s)}
	}
	flat := map[string]string{}
	flatten("", tree, flat)
	return flat
}

func flatten(prefix string, v any, into map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		enc, _ := json.Marshal(v)
		into[prefix] = string(enc)
		return
	}
	for k, sub := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		flatten(k, sub, into)
	}
}

// diffSet collects the settings that differ between pairs of results,
// merging the points where the same field differs the same way.
type diffSet struct {
	byField map[[3]string]*Diff
	order   []*Diff
}

func (d *diffSet) add(key string, a, b results.Result) {
	sa, sb := settingsOf(a), settingsOf(b)
	fields := make([]string, 0, len(sa))
	for f := range sa {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if sa[f] == sb[f] {
			continue
		}
		id := [3]string{f, sa[f], sb[f]}
		if d.byField == nil {
			d.byField = map[[3]string]*Diff{}
		}
		diff, ok := d.byField[id]
		if !ok {
			diff = &Diff{Field: f, Baseline: sa[f], Current: sb[f]}
			d.byField[id] = diff
			d.order = append(d.order, diff)
		}
		diff.Keys = append(diff.Keys, key)
	}
}

func (d *diffSet) err(side string) error {
	if len(d.order) == 0 {
		return nil
	}
	e := &MismatchError{Side: side}
	for _, diff := range d.order {
		e.Diffs = append(e.Diffs, *diff)
	}
	return e
}

// checkRepetitions makes sure every repetition of a cell shares the first
// one's settings, so that a cell's First() speaks for all of them.
func checkRepetitions(side string, cells []results.Cell) error {
	var d diffSet
	for _, c := range cells {
		for _, r := range c.Reps[1:] {
			d.add(c.Key, c.First(), r)
		}
	}
	return d.err(side)
}

// envNotes lists machine differences that do not block the comparison but
// may explain it.
func envNotes(base, cur results.Result) []string {
	a, b := base.Env, cur.Env
	var notes []string
	note := func(field string, x, y any) {
		if x != y {
			notes = append(notes, fmt.Sprintf("env.%s differs: baseline %v, current %v", field, x, y))
		}
	}
	note("cpus", a.CPUs, b.CPUs)
	note("os", a.OS, b.OS)
	note("arch", a.Arch, b.Arch)
	note("go_version", a.GoVersion, b.GoVersion)
	note("franz_go_version", a.FranzGo, b.FranzGo)
	note("commitbench_version", a.Commitbench, b.Commitbench)
	return notes
}
