package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newGateCmd is a placeholder until the gate subcommand lands.
func newGateCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gate",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("gate: not built yet") },
	}
}
