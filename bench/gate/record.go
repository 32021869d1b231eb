package gate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/commitbench/commitbench/bench/results"
)

// BaselineDir is where a recorded baseline lives, committed with the code.
const BaselineDir = "results/baseline"

// MinBaselineRuns is the fewest runs a baseline is recorded from: the
// drift between runs of unchanged code is what the gate allows beyond its
// limits, and one run cannot show it.
const MinBaselineRuns = 2

// Record writes the results of two or more runs of one workload (results
// files or run directories) to dir/results.jsonl, atomically so a failed
// write never leaves a torn baseline. Every run must parse, be a run of its
// own (distinct run ids) and be measured under the same settings as the
// others; it returns what it recorded.
func Record(srcs []string, dir string) (string, []results.Result, error) {
	if len(srcs) < MinBaselineRuns {
		return "", nil, fmt.Errorf("a baseline needs %d or more runs of the workload, got %d: the drift between runs of unchanged code is what the gate allows for (run the workload again, then gate record RUN1 RUN2)", MinBaselineRuns, len(srcs))
	}
	var all []results.Result
	var data bytes.Buffer
	seen := map[string]string{}
	for _, src := range srcs {
		rs, err := results.Read(src)
		if err != nil {
			return "", nil, err
		}
		for _, id := range RunIDs(rs) {
			if prev, dup := seen[id]; dup {
				return "", nil, fmt.Errorf("%s and %s both hold run %s: give each run once", prev, src, id)
			}
			seen[id] = src
		}
		path := src
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			path = filepath.Join(src, results.FileName)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("reading results to record: %w", err)
		}
		data.Write(bytes.TrimRight(b, "\n"))
		data.WriteByte('\n')
		all = append(all, rs...)
	}
	// The runs must be alike, or their spread is not drift.
	if err := checkRepetitions("baseline", results.ByCell(all)); err != nil {
		var mm *MismatchError
		if errors.As(err, &mm) {
			mm.Side = "the runs to record"
		}
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating baseline directory: %w", err)
	}
	dst := filepath.Join(dir, results.FileName)
	if err := results.WriteFileAtomic(dst, data.Bytes()); err != nil {
		return "", nil, fmt.Errorf("recording baseline: %w", err)
	}
	return dst, all, nil
}
