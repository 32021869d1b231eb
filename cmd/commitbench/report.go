package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newReportCmd is a placeholder until the report subcommand lands.
func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "report",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("report: not built yet") },
	}
}
