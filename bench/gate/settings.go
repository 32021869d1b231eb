package gate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/commitbench/commitbench/bench/results"
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

// diffSet collects the settings that differ between pairs of results,
// merging the points where the same field differs the same way.
type diffSet struct {
	byField map[[3]string]*Diff
	order   []*Diff
}

func (d *diffSet) add(key string, a, b results.Result) {
	sa, sb := results.Settings(a), results.Settings(b)
	fields := map[string]bool{}
	for f := range sa {
		fields[f] = true
	}
	for f := range sb {
		fields[f] = true
	}
	for _, f := range slices.Sorted(maps.Keys(fields)) {
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
func checkRepetitions(side string, cells []results.CellReps) error {
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
	a, b := base.Machine, cur.Machine
	var notes []string
	note := func(field string, x, y any) {
		if x != y {
			notes = append(notes, fmt.Sprintf("machine.%s differs: baseline %v, current %v", field, x, y))
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
