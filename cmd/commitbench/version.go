package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/buildinfo"
)

// newVersionCmd prints the versions a result would record.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print commitbench, Go and client library versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "commitbench %s\n", buildinfo.Commitbench())
			fmt.Fprintf(w, "go          %s %s/%s\n", buildinfo.Go(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "franz-go    %s\n", buildinfo.Module("github.com/twmb/franz-go"))
			fmt.Fprintf(w, "kfake       %s\n", buildinfo.Module("github.com/twmb/franz-go/pkg/kfake"))
			return nil
		},
	}
}
