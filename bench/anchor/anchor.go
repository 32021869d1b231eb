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
)

// Result is one ConsumerPerformance run.
type Result struct {
	// Records consumed and the wall seconds it took, group join included.
	Records int64   `json:"records"`
	Seconds float64 `json:"seconds"`
	// RecordsPerSec counts the whole run; FetchRecordsPerSec leaves out
	// the group's join and rebalance, as commitbench's steady state does.
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
	FetchSize int32 // max bytes per partition per fetch
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
		"--fetch-size", strconv.Itoa(int(o.FetchSize)),
		"--timeout", "60000",
	}
	cmd := exec.CommandContext(ctx, java, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("anchor: ConsumerPerformance failed (%w): %s", err, lastLines(stderr.String(), 5))
	}
	return Parse(out.String())
}

// Parse reads ConsumerPerformance's header and summary lines:
// start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
// nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
func Parse(out string) (Result, error) {
	var header, values []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "start.time"):
			header = fields(line)
		case header != nil && line != "" && values == nil:
			values = fields(line)
		}
	}
	if header == nil || len(values) != len(header) {
		return Result{}, fmt.Errorf("anchor: no summary in ConsumerPerformance's output: %q", lastLines(out, 3))
	}
	col := map[string]string{}
	for i, h := range header {
		col[h] = values[i]
	}
	num := func(k string) (float64, error) {
		v, err := strconv.ParseFloat(col[k], 64)
		if err != nil {
			return 0, fmt.Errorf("anchor: column %s: %w", k, err)
		}
		return v, nil
	}
	var r Result
	var err error
	var n float64
	if n, err = num("data.consumed.in.nMsg"); err != nil {
		return r, err
	}
	r.Records = int64(n)
	if r.RecordsPerSec, err = num("nMsg.sec"); err != nil {
		return r, err
	}
	if r.FetchRecordsPerSec, err = num("fetch.nMsg.sec"); err != nil {
		return r, err
	}
	if r.RebalanceMs, err = num("rebalance.time.ms"); err != nil {
		return r, err
	}
	if r.RecordsPerSec > 0 {
		r.Seconds = n / r.RecordsPerSec
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
