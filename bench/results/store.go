package results

import (
	"bufio"
	"bytes"
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
	lines [][]byte
}

// NewWriter creates dir (which must not hold results yet) and returns a
// Writer for it.
func NewWriter(dir string) (*Writer, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		return nil, fmt.Errorf("%s already holds results; choose a new run id", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating results directory: %w", err)
	}
	return &Writer{dir: dir}, nil
}

// Dir is the run directory.
func (w *Writer) Dir() string { return w.dir }

// Path is the results file.
func (w *Writer) Path() string { return filepath.Join(w.dir, FileName) }

// Append adds one result and makes it durable before returning.
func (w *Writer) Append(r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding result %s: %w", r.Key, err)
	}
	w.lines = append(w.lines, b)
	return WriteFileAtomic(w.Path(), bytes.Join(append(w.lines, nil), []byte("\n")))
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
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no results at %s: give a run directory (results/<run-id>) or its %s", path, FileName)
		}
		return nil, fmt.Errorf("reading results: %w", err)
	}
	var out []Result
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
			return nil, fmt.Errorf("%s:%d: not a commitbench result: %w", path, line, err)
		}
		if v.SchemaVersion != SchemaVersion {
			return nil, fmt.Errorf("%s:%d: schema_version %d, this commitbench reads %d: re-run the workload, or read it with the commitbench that wrote it", path, line, v.SchemaVersion, SchemaVersion)
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r Result
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: not a commitbench result: %w", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no results", path)
	}
	return out, nil
}

// NewRunID returns a sortable, unique-enough run id such as
// 20261125-221530-4f2a.
func NewRunID(now time.Time) string {
	return fmt.Sprintf("%s-%04x", now.UTC().Format("20060102-150405"), now.UnixNano()&0xffff)
}
