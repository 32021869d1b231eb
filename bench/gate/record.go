package gate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/commitbench/commitbench/bench/results"
)

// BaselineDir is where a recorded baseline lives, committed with the code.
const BaselineDir = "results/baseline"

// Record copies the results at src (a results file or run directory) to
// dir/results.jsonl, atomically so a failed copy never leaves a torn
// baseline. It checks first that src parses, and returns what it recorded.
func Record(src, dir string) (string, []results.Result, error) {
	rs, err := results.Read(src)
	if err != nil {
		return "", nil, err
	}
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		src = filepath.Join(src, results.FileName)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", nil, fmt.Errorf("reading results to record: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating baseline directory: %w", err)
	}
	dst := filepath.Join(dir, results.FileName)
	if err := results.WriteFileAtomic(dst, data); err != nil {
		return "", nil, fmt.Errorf("recording baseline: %w", err)
	}
	return dst, rs, nil
}
