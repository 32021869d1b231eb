package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/worker"
)

// newWorkerCmd is the consumer process the runner starts and SIGKILLs. It
// is internal: its configuration arrives as JSON on standard input and its
// output is the wire stream on file descriptor 3.
func newWorkerCmd() *cobra.Command {
	var bare bool
	var warmup int64
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Internal: one consumer process, started by `commitbench run`",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := worker.ReadConfig(os.Stdin)
			if err != nil {
				return err
			}
			// A CPU profile of the measured process, for finding what the
			// harness costs it (go tool pprof bin/commitbench FILE).
			if dir := os.Getenv("COMMITBENCH_WORKER_CPUPROFILE"); dir != "" {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", os.Getpid())))
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if bare {
				return worker.RunBare(cmd.Context(), cfg, warmup, cmd.OutOrStdout())
			}
			out := os.NewFile(worker.WireFD, "wire")
			if out == nil {
				return fmt.Errorf("worker: file descriptor %d is not open; the worker is started by `commitbench run`", worker.WireFD)
			}
			return worker.Run(cmd.Context(), cfg, out)
		},
	}
	cmd.Flags().BoolVar(&bare, "bare", false, "a plain franz-go loop without ledger or events, reporting one JSON line on standard output (commitbench anchor)")
	cmd.Flags().Int64Var(&warmup, "warmup", 0, "with --bare: records before the measured window")
	return cmd
}
