// Package anchor runs Apache Kafka's own ConsumerPerformance tool against a
// topic and reads its rates, so commitbench's no-commit ceiling can be set
// beside a consumer nobody can accuse of being the harness's bottleneck.
package anchor

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/spec"
)

// Result is one ConsumerPerformance run.
type Result struct {
	// Records consumed and the wall seconds it took, group join included.
	Records int64   `json:"records"`
	Seconds float64 `json:"seconds"`
	// RecordsPerSec counts the whole run from the JVM's start;
	// FetchRecordsPerSec is the steady rate past the warm-up, as
	// commitbench's window is.
	RecordsPerSec      float64 `json:"records_per_s"`
	FetchRecordsPerSec float64 `json:"fetch_records_per_s"`
	RebalanceMs        float64 `json:"rebalance_ms"`
}

// Options locate Java and Kafka's jars and name what to consume.
type Options struct {
	Java      string // the java binary; "java" on PATH when empty
	Libs      string // directory holding Kafka's jars (kafka-tools among them)
	Bootstrap []string
	Topic     string
	Group     string
	Records   int64
	// Client carries the fetch settings the harness's workers use, so
	// both consumers fetch alike.
	Client spec.Client
	// Warmup records are left out of the steady rate, as the harness
	// leaves them out of its window.
	Warmup int64
}

// Run runs ConsumerPerformance once and parses its summary line.
func Run(ctx context.Context, o Options) (Result, error) {
	java := o.Java
	if java == "" {
		java = "java"
	}
	if _, err := exec.LookPath(java); err != nil {
		return Result{}, fmt.Errorf("anchor: java not found (%w); install openjdk-17-jre-headless", err)
	}
	args := []string{"-Xmx512m", "-cp", filepath.Join(o.Libs, "*"), "org.apache.kafka.tools.ConsumerPerformance",
		"--bootstrap-server", strings.Join(o.Bootstrap, ","),
		"--topic", o.Topic,
		"--group", o.Group,
		"--num-records", strconv.FormatInt(o.Records, 10),
		"--timeout", "60000",
		// The workload's fetch settings, not Java's defaults.
		"--command-property", fmt.Sprintf("fetch.max.bytes=%d", o.Client.FetchMaxBytes),
		"--command-property", fmt.Sprintf("max.partition.fetch.bytes=%d", o.Client.FetchMaxPartitionBytes),
		"--command-property", fmt.Sprintf("max.poll.records=%d", o.Client.MaxPollRecords),
		"--command-property", fmt.Sprintf("fetch.max.wait.ms=%d", o.Client.FetchMaxWait.D().Milliseconds()),
		"--command-property", "auto.offset.reset=earliest",
		// Progress every 100 ms, so the warm-up can be left out.
		"--show-detailed-stats", "--reporting-interval", "100",
	}
	startedAt := time.Now()
	cmd := exec.CommandContext(ctx, java, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("anchor: ConsumerPerformance failed (%w): %s", err, lastLines(stderr.String(), 5))
	}
	return Parse(out.String(), o.Warmup, startedAt)
}

// Parse reads ConsumerPerformance's detailed progress lines (one every
// reporting interval: time, thread, MB so far, MB/s, records so far,
// records/s, rebalance ms, fetch ms, fetch MB/s, fetch records/s). The
// steady rate runs from the first line at or past warmup records to the
// last line, as the harness's window runs from its warm-up to its last
// record; the whole-run rate counts from startedAt, the JVM's start.
func Parse(out string, warmup int64, startedAt time.Time) (Result, error) {
	type mark struct {
		at time.Time
		n  int64
	}
	var marks []mark
	var rebalance float64
	for _, line := range strings.Split(out, "\n") {
		f := fields(strings.TrimSpace(line))
		if len(f) != 10 {
			continue
		}
		// Java writes milliseconds after a colon; Go reads them after a dot.
		ts := f[0]
		if i := strings.LastIndexByte(ts, ':'); i > 0 {
			ts = ts[:i] + "." + ts[i+1:]
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05.000", ts, time.Local)
		if err != nil {
			continue // the header, or another line
		}
		n, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return Result{}, fmt.Errorf("anchor: records column %q: %w", f[4], err)
		}
		if ms, err := strconv.ParseFloat(f[6], 64); err == nil {
			rebalance += ms
		}
		marks = append(marks, mark{at, n})
	}
	if len(marks) < 2 {
		return Result{}, fmt.Errorf("anchor: too few progress lines in ConsumerPerformance's output (raise --records): %q", lastLines(out, 3))
	}
	last := marks[len(marks)-1]
	first := marks[0]
	for _, m := range marks {
		if m.n >= warmup {
			first = m
			break
		}
	}
	if !last.at.After(first.at) || last.n <= first.n {
		return Result{}, fmt.Errorf("anchor: ConsumerPerformance read too little past the %d warm-up records to measure (raise --records)", warmup)
	}
	r := Result{Records: last.n, RebalanceMs: rebalance}
	r.FetchRecordsPerSec = float64(last.n-first.n) / last.at.Sub(first.at).Seconds()
	r.Seconds = last.at.Sub(startedAt).Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(last.n) / r.Seconds
	}
	return r, nil
}

func fields(line string) []string {
	rd := csv.NewReader(strings.NewReader(line))
	rd.TrimLeadingSpace = true
	f, err := rd.Read()
	if err != nil {
		return nil
	}
	return f
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Timeout bounds one run by the records it must read, generously.
func Timeout(records int64) time.Duration {
	return 2*time.Minute + time.Duration(records/10_000)*time.Second
}
