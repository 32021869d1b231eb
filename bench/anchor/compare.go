package anchor

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/runner"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/sweep"
)

// Compare runs w's points (commitbench's no-commit ceiling) through the
// same sweep code as `run`, and after each one Kafka's ConsumerPerformance
// on the same topic, alternating, then prints both rates and their ratio.
func Compare(ctx context.Context, w *spec.Workload, out io.Writer) error {
	libs, version, err := broker.KafkaLibs("")
	if err != nil {
		return err
	}
	runID := results.NewRunID(time.Now())
	points, _ := w.Plan()
	fmt.Fprintf(out, "anchor: %d records × %d B in %d partitions on a %s broker; ConsumerPerformance from Kafka %s\n",
		w.Topic.Records, w.Topic.RecordBytes, w.Topic.Partitions, w.Broker.Kind, version)
	var ours, theirs, theirsAll []float64
	each := func(r *runner.Runner, res results.Result) error {
		i := len(ours)
		if i == 0 {
			fmt.Fprintf(out, "broker: %s\n", res.Broker.Label())
		}
		ours = append(ours, res.Throughput.RecordsPerSec)
		actx, cancel := context.WithTimeout(ctx, Timeout(w.Topic.Records))
		defer cancel()
		cp, err := Run(actx, Options{
			Libs: libs, Bootstrap: r.Conn().Bootstrap, Topic: r.Topic(),
			Group: fmt.Sprintf("commitbench-anchor-%s-%d", runID, i), Records: w.Topic.Records,
			FetchSize: w.Client.FetchMaxPartitionBytes,
		})
		if err != nil {
			return err
		}
		theirs = append(theirs, cp.FetchRecordsPerSec)
		theirsAll = append(theirsAll, cp.RecordsPerSec)
		fmt.Fprintf(out, "  run %d: commitbench none %.0f records/s; ConsumerPerformance %.0f records/s fetching (%.0f with its %0.f ms group join)\n",
			i+1, res.Throughput.RecordsPerSec, cp.FetchRecordsPerSec, cp.RecordsPerSec, cp.RebalanceMs)
		return nil
	}
	if err := sweep.Workload(ctx, w, points, runID, sweep.Options{StallTimeout: 2 * time.Minute}, nil, each); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tconsumer\trecords/s mean\t±sd\truns\t")
	fmt.Fprintf(tw, "\tcommitbench none (steady state)\t%.0f\t%.0f\t%d\t\n", metrics.Mean(ours), metrics.StdDev(ours), len(ours))
	fmt.Fprintf(tw, "\tConsumerPerformance (fetch)\t%.0f\t%.0f\t%d\t\n", metrics.Mean(theirs), metrics.StdDev(theirs), len(theirs))
	fmt.Fprintf(tw, "\tConsumerPerformance (whole run)\t%.0f\t%.0f\t%d\t\n", metrics.Mean(theirsAll), metrics.StdDev(theirsAll), len(theirsAll))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "ConsumerPerformance / commitbench: %.2f\n", metrics.Mean(theirs)/metrics.Mean(ours))
	return err
}
