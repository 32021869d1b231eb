package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPlotCmd is a placeholder until the plot subcommand lands.
func newPlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "plot",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("plot: not built yet") },
	}
}
