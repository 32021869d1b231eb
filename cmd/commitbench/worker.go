package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/worker"
)

// newWorkerCmd is the consumer process the runner starts and SIGKILLs. It
// is internal: its configuration arrives as JSON on standard input and its
// output is the wire stream on file descriptor 3.
func newWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Internal: one consumer process, started by `commitbench run`",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := worker.ReadConfig(os.Stdin)
			if err != nil {
				return err
			}
			out := os.NewFile(worker.WireFD, "wire")
			if out == nil {
				return fmt.Errorf("worker: file descriptor %d is not open; the worker is started by `commitbench run`", worker.WireFD)
			}
			return worker.Run(cmd.Context(), cfg, out)
		},
	}
}
