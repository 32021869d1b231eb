package results

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
)

func sample(rep int) Result {
	bound := int64(100)
	return Result{
		SchemaVersion: SchemaVersion, RunID: "r", Key: "w/at-least-once-sync/100rec|5s", Workload: "w",
		Strategy: strategy.AtLeastOnceSync, Guarantee: strategy.GuaranteeAtLeastOnce, Repetition: rep,
		Interval:      spec.Interval{Records: 100, Every: spec.Duration(5 * time.Second)},
		Topic:         spec.Topic{Partitions: 8, Records: 1000, RecordBytes: 100, Keys: "none"},
		WarmupRecords: 100,
		Broker:        cluster.Description{Kind: "local", Version: "Apache Kafka 4.4.0", Brokers: 1, OffsetsReplication: 1, StartupSeconds: 4.2},
		Machine:       Machine{GoVersion: "go1.26.8", CPUs: 2},
		Throughput:    Throughput{Records: 1000, RecordsPerSec: 12345.5, Commits: 10},
		Crash:         &Crash{Kills: 1, ReplayPerCrash: []int64{42}, ReplayBound: &bound, LostPerCrash: []int64{0}, RecoveryMs: []float64{3.5}},
		Violations:    []string{},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{sample(1), sample(2)}
	for _, r := range want {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Interval.String() != "100rec|5s" {
		t.Errorf("interval label %q after the round trip", got[0].Interval.String())
	}
	// Every append replaces the file whole: no temporary file is left.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("run directory holds %v, want only %s", entries, FileName)
	}
	if _, err := NewWriter(dir); err == nil {
		t.Error("a second writer on a directory with results was allowed")
	}
}

func TestWriteFileAtomicReplacesWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFileAtomic(path, []byte("old\n")); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename makes the write fail: the old
	// content must survive and no temporary file may remain.
	blocked := filepath.Join(filepath.Dir(path), "blocked")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(blocked, []byte("new")); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if err := WriteFileAtomic(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "new\n" {
		t.Errorf("content %q, want the new file whole", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestReadRejectsOtherSchemas(t *testing.T) {
	for name, tt := range map[string]struct{ content, want string }{
		"older schema":  {`{"schema_version":1,"interval_kind":"count"}`, "schema_version 1, this commitbench reads 2"},
		"unknown field": {`{"schema_version":2,"surprise":1}`, `unknown field "surprise"`},
		"not json":      {"{", "not a commitbench result"},
		"empty":         {"\n", "holds no results"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(tt.content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// Settings is derived, not listed: a setting anywhere in the result takes
// part, measurements and identity do not.
func TestSettingsDerived(t *testing.T) {
	a, b := sample(1), sample(2)
	b.Throughput.RecordsPerSec, b.Crash.ReplayPerCrash = 1, []int64{1}
	b.Broker.StartupSeconds, b.Machine.CPUs, b.RunID, b.Violations = 99, 64, "other", []string{"x"}
	if !reflect.DeepEqual(Settings(a), Settings(b)) {
		t.Errorf("measurements changed the settings:\n%v\n%v", Settings(a), Settings(b))
	}
	for path, mutate := range map[string]func(*Result){
		"sink":                     func(r *Result) { r.Sink = "postgres" },
		"warmup_records":           func(r *Result) { r.WarmupRecords = 1 },
		"interval.every_ns":        func(r *Result) { r.Interval.Every = spec.Duration(time.Second) },
		"client.fetch_max_wait_ns": func(r *Result) { r.Client.FetchMaxWait = 1 },
		"broker.version":           func(r *Result) { r.Broker.Version = "x" },
		"effects_counted_in":       func(r *Result) { r.EffectsIn = "db" },
	} {
		c := sample(1)
		mutate(&c)
		if sa, sc := Settings(a), Settings(c); sa[path] == sc[path] {
			t.Errorf("changing %s left Settings[%q] at %q", path, path, sa[path])
		}
	}
}

func TestRunStatus(t *testing.T) {
	for _, tt := range []struct {
		err          error
		status, text string
	}{
		{nil, "complete", ""},
		{fmt.Errorf("point 3: %w", context.Canceled), "interrupted", ""},
		{errors.New("broker gone"), "failed", "broker gone"},
	} {
		if s, m := RunStatus(tt.err); s != tt.status || m != tt.text {
			t.Errorf("RunStatus(%v) = %q, %q; want %q, %q", tt.err, s, m, tt.status, tt.text)
		}
	}
}
