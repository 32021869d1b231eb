package results

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvColumns are the flat columns of a CSV export, units in their names.
var csvColumns = []struct {
	name string
	get  func(Result) string
}{
	{"run_id", func(r Result) string { return r.RunID }},
	{"workload", func(r Result) string { return r.Workload }},
	{"strategy", func(r Result) string { return r.Strategy }},
	{"guarantee", func(r Result) string { return string(r.Guarantee) }},
	{"interval", func(r Result) string { return r.Interval.String() }},
	{"interval_kind", func(r Result) string { return r.Interval.Kind() }},
	{"commit_every_records", func(r Result) string { return i64(r.Interval.Records) }},
	{"commit_every_ms", func(r Result) string { return f64(float64(r.Interval.Every) / 1e6) }},
	{"repetition", func(r Result) string { return strconv.Itoa(r.Repetition) }},
	{"broker_kind", func(r Result) string { return r.Broker.Kind }},
	{"broker_version", func(r Result) string { return r.Broker.Version }},
	{"emulated_commit_delay_ns", func(r Result) string { return i64(r.Broker.EmulatedCommitDelayNs) }},
	{"records_per_s", func(r Result) string { return f64(r.Throughput.RecordsPerSec) }},
	{"commits", func(r Result) string { return i64(r.Throughput.Commits) }},
	{"commits_total", func(r Result) string { return i64(r.Throughput.CommitsTotal) }},
	{"failed_commits", func(r Result) string { return i64(r.Throughput.FailedCommits) }},
	{"shutdown_ms", func(r Result) string { return f64(r.Throughput.ShutdownMs) }},
	{"commits_per_s", func(r Result) string { return f64(r.Throughput.CommitsPerSec) }},
	{"commit_p50_us", func(r Result) string { return f64(r.Throughput.CommitLatency.P50Us) }},
	{"commit_p99_us", func(r Result) string { return f64(r.Throughput.CommitLatency.P99Us) }},
	{"commit_p999_us", func(r Result) string { return f64(r.Throughput.CommitLatency.P999Us) }},
	{"commit_max_us", func(r Result) string { return f64(r.Throughput.CommitLatency.MaxUs) }},
	{"commit_latency_samples", func(r Result) string { return i64(r.Throughput.CommitLatency.Count) }},
	{"wire_commit_p50_us", func(r Result) string { return f64(r.Throughput.WireCommitLatency.P50Us) }},
	{"wire_commit_p99_us", func(r Result) string { return f64(r.Throughput.WireCommitLatency.P99Us) }},
	{"worker_cpu_s", func(r Result) string { return f64(r.Throughput.WorkerCPUSeconds) }},
	{"broker_cpu_s", func(r Result) string { return opt(r.Throughput.BrokerCPUSeconds, f64) }},
	{"broker_cpu_per_1k_commits_s", func(r Result) string { return derived(r.Throughput.BrokerCPUPer1kCommits()) }},
	{"offsets_topic_appended_records", func(r Result) string { return opt(r.Throughput.OffsetsTopicRecords, i64) }},
	{"offsets_topic_appended_bytes", func(r Result) string { return opt(r.Throughput.OffsetsTopicBytes, i64) }},
	{"offsets_topic_bytes_per_commit", func(r Result) string { return derived(r.Throughput.OffsetsBytesPerCommit()) }},
	{"crashes", func(r Result) string { return crash(r, func(c *Crash) string { return strconv.Itoa(c.Kills) }) }},
	{"replay_mean_records", func(r Result) string { return crash(r, func(c *Crash) string { return f64(c.ReplayMean) }) }},
	{"replay_max_records", func(r Result) string { return crash(r, func(c *Crash) string { return i64(c.ReplayMax) }) }},
	{"lost_records", func(r Result) string { return crash(r, func(c *Crash) string { return i64(c.Lost) }) }},
	{"duplicate_effects", func(r Result) string { return crash(r, func(c *Crash) string { return i64(c.Duplicates) }) }},
	{"recovery_mean_ms", func(r Result) string { return crash(r, func(c *Crash) string { return f64(c.RecoveryMeanMs) }) }},
	{"violations", func(r Result) string { return strconv.Itoa(len(r.Violations)) }},
}

func i64(v int64) string   { return strconv.FormatInt(v, 10) }
func f64(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
func opt[T any](v *T, f func(T) string) string {
	if v == nil {
		return ""
	}
	return f(*v)
}

// derived prints a figure derived from others, empty where it was not
// measured (as opt does for a measured one).
func derived(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return f64(v)
}

func crash(r Result, f func(*Crash) string) string {
	if r.Crash == nil {
		return ""
	}
	return f(r.Crash)
}

// WriteCSV writes rs as CSV with a header row.
func WriteCSV(w io.Writer, rs []Result) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, len(csvColumns))
	for _, r := range rs {
		for i, c := range csvColumns {
			row[i] = c.get(r)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
