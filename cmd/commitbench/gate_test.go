package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// writeRun writes five repetitions of one point around recordsPerSec (±1%)
// and returns the run directory.
func writeRun(t *testing.T, recordsPerSec float64, mutate func(*results.Result)) string {
	t.Helper()
	w, err := results.NewWriter(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := results.Result{
			SchemaVersion: results.SchemaVersion, Key: "quick/at-least-once-sync/100rec",
			Workload: "quick", Strategy: "at-least-once-sync", Guarantee: "at-least-once",
			Repetition: i + 1, Interval: spec.Interval{Records: 100},
			Broker:     cluster.Description{Kind: "embedded", Version: "kfake test", Brokers: 1},
			Throughput: results.Throughput{RecordsPerSec: recordsPerSec * (0.99 + 0.005*float64(i))},
		}
		if mutate != nil {
			mutate(&r)
		}
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return w.Dir()
}

// execGate runs the gate command and returns its output and exit code as
// main would compute them.
func execGate(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newGateCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		t.Fatalf("error without an exit code: %v", err)
	}
	return out.String() + err.Error(), ee.code
}

func TestGateCmdExitCodes(t *testing.T) {
	base := writeRun(t, 100_000, nil)
	malformed := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(malformed, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"identical", []string{"--baseline", base, "--current", writeRun(t, 100_000, nil)}, 0, "PASS"},
		{"throughput drop", []string{"--baseline", base, "--current", writeRun(t, 70_000, nil)}, 1, "REGRESSED"},
		{"markdown", []string{"--baseline", base, "--current", writeRun(t, 70_000, nil), "--format", "markdown"}, 1, "| point |"},
		{"benchstat", []string{"--baseline", base, "--current", base, "--format", "benchstat"}, 0, "side: current"},
		{"mismatched broker", []string{"--baseline", base, "--current", writeRun(t, 100_000, func(r *results.Result) { r.Broker.Version = "kafka 4.0" })}, 2, "broker.version"},
		{"malformed", []string{"--baseline", base, "--current", malformed}, 2, "not a commitbench result"},
		{"no current", []string{"--baseline", base}, 2, "--current is required"},
		{"unknown flag", []string{"--current", base, "--treshold", "5"}, 2, "unknown flag"},
		{"bad format", []string{"--current", base, "--format", "html"}, 2, "--format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execGate(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tt.code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestGateRecordCmd(t *testing.T) {
	run1 := writeRun(t, 100_000, func(r *results.Result) { r.RunID = "r1" })
	run2 := writeRun(t, 96_000, func(r *results.Result) { r.RunID = "r2" })
	dir := filepath.Join(t.TempDir(), "baseline")
	out, code := execGate(t, "record", run1, run2, "--dir", dir)
	if code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out)
	}
	if !strings.Contains(out, "2 runs") || !strings.Contains(out, "drift between runs throughput 4.") {
		t.Errorf("record does not report the runs and their drift:\n%s", out)
	}
	if rs, err := results.Read(dir); err != nil || len(rs) != 10 {
		t.Errorf("recorded baseline reads back as %d results (err %v), want 10", len(rs), err)
	}
	for _, args := range [][]string{{"record"}, {"record", run1}} {
		if out, code := execGate(t, args...); code != 2 || !strings.Contains(out, "2 or more runs") {
			t.Errorf("%v: exit code %d, want 2 naming the runs needed:\n%s", args, code, out)
		}
	}
	// The recorded baseline gates: a 30% drop against it fails, and the
	// JUnit file names the failing metric.
	junit := filepath.Join(t.TempDir(), "gate.xml")
	out, code = execGate(t, "--baseline", dir, "--current", writeRun(t, 70_000, nil), "--junit", junit)
	if code != 1 {
		t.Errorf("30%% drop against the recorded baseline: exit code %d, want 1:\n%s", code, out)
	}
	if data, err := os.ReadFile(junit); err != nil || !strings.Contains(string(data), `<failure message="REGRESSED`) {
		t.Errorf("JUnit file (err %v) lacks the failure:\n%s", err, data)
	}
}
