package anchor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/sweep"
	"github.com/commitbench/commitbench/bench/worker"
)

// CompareOptions choose what Compare sets beside the harness.
type CompareOptions struct {
	// ConsumerPerf runs Kafka's ConsumerPerformance after each `none`
	// point (needs Java and the jars of scripts/kafka.sh fetch).
	ConsumerPerf bool
	// Bare runs a bare franz-go loop after every point, to measure what
	// the harness costs the consumer it measures.
	Bare bool
}

// pair is one cell's interleaved measurements.
type pair struct {
	label                    string
	harness, bare, cp, cpAll []float64
	harnessP50, bareP50      []float64
}

// Compare runs w's points through the same sweep code as `run`, and after
// each one, on the same topic and broker, a bare franz-go loop with the
// same settings and, after `none` points, Kafka's ConsumerPerformance —
// interleaved, so the machine's drift falls on both sides alike — and
// prints the rates, their spread and the harness's overhead.
func Compare(ctx context.Context, w *spec.Workload, o CompareOptions, out io.Writer) error {
	var libs, version string
	if o.ConsumerPerf {
		var err error
		if libs, version, err = broker.KafkaLibs(""); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the commitbench binary for the bare loop: %w", err)
	}
	runID := results.NewRunID(time.Now())
	points, _ := w.Plan()
	fmt.Fprintf(out, "anchor: %d records × %d B in %d partitions, %g µs of work per record, on a %s broker\n",
		w.Topic.Records, w.Topic.RecordBytes, w.Topic.Partitions, w.Processing.CPUMicros, w.Broker.Kind)
	var order []string
	cells := map[string]*pair{}
	each := func(r *runner.Runner, res results.Result) error {
		label := res.Strategy
		if res.Interval.Kind() != "" {
			label += " every " + res.Interval.String()
		}
		c, ok := cells[label]
		if !ok {
			c = &pair{label: label}
			cells[label] = c
			order = append(order, label)
			if len(order) == 1 {
				fmt.Fprintf(out, "broker: %s\n", res.Broker.Label())
			}
		}
		c.harness = append(c.harness, res.Throughput.RecordsPerSec)
		c.harnessP50 = append(c.harnessP50, res.Throughput.CommitLatency.P50Us)
		line := fmt.Sprintf("  %s run %d: commitbench %.0f records/s", label, len(c.harness), res.Throughput.RecordsPerSec)
		if o.Bare {
			b, err := runBare(ctx, exe, r, res, w.WarmupRecords)
			if err != nil {
				return err
			}
			c.bare = append(c.bare, b.RecordsPerSec)
			c.bareP50 = append(c.bareP50, b.CommitLatency.P50Us)
			line += fmt.Sprintf("; bare loop %.0f records/s", b.RecordsPerSec)
		}
		if o.ConsumerPerf && res.Strategy == strategy.None {
			actx, cancel := context.WithTimeout(ctx, Timeout(w.Topic.Records))
			defer cancel()
			cp, err := Run(actx, Options{
				Libs: libs, Bootstrap: r.Conn().Bootstrap, Topic: r.Topic(),
				Group: fmt.Sprintf("commitbench-anchor-%s-%d", runID, len(c.harness)), Records: w.Topic.Records,
				Client: w.Client, Warmup: w.WarmupRecords,
			})
			if err != nil {
				return err
			}
			c.cp, c.cpAll = append(c.cp, cp.FetchRecordsPerSec), append(c.cpAll, cp.RecordsPerSec)
			line += fmt.Sprintf("; ConsumerPerformance %.0f records/s steady (%.0f whole run, %0.f ms group join)", cp.FetchRecordsPerSec, cp.RecordsPerSec, cp.RebalanceMs)
		}
		fmt.Fprintln(out, line)
		return nil
	}
	if err := sweep.Workload(ctx, w, points, runID, sweep.Options{StallTimeout: 2 * time.Minute}, nil, each); err != nil {
		return err
	}
	if o.ConsumerPerf {
		fmt.Fprintf(out, "ConsumerPerformance from Kafka %s, with the workload's fetch settings\n", version)
	}
	return printComparison(out, order, cells)
}

// printComparison writes each consumer's rate with its spread, then the
// harness's overhead per strategy, paired run by run.
func printComparison(out io.Writer, order []string, cells map[string]*pair) error {
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tconsumer\truns\trecords/s mean\t±sd\tcommit p50 µs\t")
	for _, label := range order {
		c := cells[label]
		fmt.Fprintf(tw, "\tcommitbench %s\t%d\t%.0f\t%.0f\t%s\t\n", label, len(c.harness), metrics.Mean(c.harness), metrics.StdDev(c.harness), p50(c.harnessP50))
		if len(c.bare) > 0 {
			fmt.Fprintf(tw, "\tbare franz-go loop, %s\t%d\t%.0f\t%.0f\t%s\t\n", label, len(c.bare), metrics.Mean(c.bare), metrics.StdDev(c.bare), p50(c.bareP50))
		}
		if len(c.cp) > 0 {
			fmt.Fprintf(tw, "\tConsumerPerformance (steady)\t%d\t%.0f\t%.0f\t\t\n", len(c.cp), metrics.Mean(c.cp), metrics.StdDev(c.cp))
			fmt.Fprintf(tw, "\tConsumerPerformance (whole run)\t%d\t%.0f\t%.0f\t\t\n", len(c.cpAll), metrics.Mean(c.cpAll), metrics.StdDev(c.cpAll))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, label := range order {
		c := cells[label]
		if len(c.bare) > 0 {
			// Paired by run: each harness run against the bare run right
			// after it, so drift between runs cancels.
			over := make([]float64, len(c.bare))
			for i := range c.bare {
				over[i] = 100 * (1 - c.harness[i]/c.bare[i])
			}
			fmt.Fprintf(out, "harness overhead: %s %.1f%% ± %.1f (paired over %d runs; throughput the harness loses against a bare loop)\n",
				label, metrics.Mean(over), metrics.StdDev(over), len(over))
		}
		if len(c.cp) > 0 {
			fmt.Fprintf(out, "ConsumerPerformance / commitbench %s: %.2f\n", label, metrics.Mean(c.cp)/metrics.Mean(c.harness))
		}
	}
	return nil
}

func p50(v []float64) string {
	if len(v) == 0 || metrics.Mean(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", metrics.Mean(v))
}

// runBare runs the bare loop as a process of its own, as the harness's
// worker is, on the point's topic in a fresh group.
func runBare(ctx context.Context, exe string, r *runner.Runner, res results.Result, warmup int64) (worker.BareResult, error) {
	var b worker.BareResult
	// The point's own group, with a suffix: a fresh group, as the
	// harness's worker had.
	cfg := r.BareConfig(spec.Point{Key: res.Key, Strategy: res.Strategy, Interval: res.Interval, Repetition: res.Repetition})
	cfg.Group += "-bare-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	in, err := json.Marshal(cfg)
	if err != nil {
		return b, err
	}
	cmd := exec.CommandContext(ctx, exe, "worker", "--bare", "--warmup", strconv.FormatInt(warmup, 10))
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return b, fmt.Errorf("bare loop failed (%w): %s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &b); err != nil {
		return b, fmt.Errorf("bare loop output: %w", err)
	}
	return b, nil
}
