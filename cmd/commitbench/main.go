// Command commitbench measures what a Kafka consumer's offset-commit
// strategy costs (throughput, commit latency) and risks (records replayed
// or lost after a crash), and turns the measurements into plots, reports
// and regression gates.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit code (the gate's 1 for a regression,
// 2 for bad input) through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := &cobra.Command{
		Use:           "commitbench",
		Short:         "Measure the cost and risk of Kafka consumer offset-commit strategies",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newWorkerCmd(),
		newResultsCmd(),
		newVersionCmd(),
		newPlotCmd(),
		newReportCmd(),
		newGateCmd(),
		newAnchorCmd(),
		newCapacityCmd(),
	)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "commitbench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
