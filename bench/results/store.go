package results

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FileName is the results file inside a run directory.
const FileName = "results.jsonl"

// Writer appends results to a run directory. Each Append rewrites the file
// through a temporary file and a rename, so a reader — or a run killed at
// any instant — sees either the old complete file or the new complete one.
type Writer struct {
	dir   string
	lines jsonLines
}

// NewWriter creates dir (which must not hold results yet) and returns a
// Writer for it.
func NewWriter(dir string) (*Writer, error) {
	if err := newRunFile(dir, FileName); err != nil {
		return nil, err
	}
	return &Writer{dir: dir, lines: jsonLines{path: filepath.Join(dir, FileName)}}, nil
}

// Dir is the run directory.
func (w *Writer) Dir() string { return w.dir }

// Path is the results file.
func (w *Writer) Path() string { return w.lines.path }

// Append adds one result and makes it durable before returning.
func (w *Writer) Append(r Result) error {
	if err := w.lines.append(r); err != nil {
		return fmt.Errorf("encoding result %s: %w", r.Key, err)
	}
	return nil
}

// newRunFile creates dir for a file that must not exist in it yet.
func newRunFile(dir, name string) error {
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return fmt.Errorf("%s already holds %s; choose a new run id", dir, name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating results directory: %w", err)
	}
	return nil
}

// jsonLines is a JSON-lines file rewritten whole, atomically, at every
// append.
type jsonLines struct {
	path  string
	lines [][]byte
}

func (j *jsonLines) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j.lines = append(j.lines, b)
	return WriteFileAtomic(j.path, bytes.Join(append(j.lines, nil), []byte("\n")))
}

// WriteFileAtomic writes data to path through a synced temporary file in
// the same directory and a rename.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	// CreateTemp makes the file private; results are for sharing.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Read loads results from a run directory or a results file.
func Read(path string) ([]Result, error) {
	return readLines[Result](path, FileName, SchemaVersion, "result", "results", "re-run the workload")
}

// readLines reads a JSON-lines file of one schema from a run directory (the
// file name inside it) or the file itself: every line must carry the
// schema version this commitbench reads and no field it does not know.
// what and whats name one line and many for the user; rerun says how to get
// a file this version reads.
func readLines[T any](path, name string, version int, what, whats, rerun string) ([]T, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no %s at %s: give a run directory (results/<run-id>) or its %s", whats, path, name)
		}
		return nil, fmt.Errorf("reading %s: %w", whats, err)
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		// The version first: another schema's fields are not errors of
		// their own, and the user needs to hear which version it is.
		var v struct {
			SchemaVersion int `json:"schema_version"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s:%d: not a commitbench %s: %w", path, line, what, err)
		}
		if v.SchemaVersion != version {
			return nil, fmt.Errorf("%s:%d: schema_version %d, this commitbench reads %d: %s, or read it with the commitbench that wrote it", path, line, v.SchemaVersion, version, rerun)
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r T
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: not a commitbench %s: %w", path, line, what, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no %s", path, whats)
	}
	return out, nil
}

// NewRunID returns a sortable, unique-enough run id such as
// 20261125-221530-4f2a.
func NewRunID(now time.Time) string {
	return fmt.Sprintf("%s-%04x", now.UTC().Format("20060102-150405"), now.UnixNano()&0xffff)
}

// Link points resultsDir/name (such as latest) at the run directory runID,
// replacing the link atomically.
func Link(resultsDir, name, runID string) error {
	tmp := filepath.Join(resultsDir, "."+name+".tmp")
	os.Remove(tmp)
	if err := os.Symlink(runID, tmp); err != nil {
		return fmt.Errorf("linking %s/%s: %w", resultsDir, name, err)
	}
	if err := os.Rename(tmp, filepath.Join(resultsDir, name)); err != nil {
		return fmt.Errorf("linking %s/%s: %w", resultsDir, name, err)
	}
	return nil
}

// RunStatus is how a run ended, as its run.json records it: "complete",
// "interrupted" (its context was cancelled: Ctrl-C), or "failed" with the
// error.
func RunStatus(err error) (status, msg string) {
	switch {
	case err == nil:
		return "complete", ""
	case errors.Is(err, context.Canceled):
		return "interrupted", ""
	}
	return "failed", err.Error()
}
