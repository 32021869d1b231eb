package main

import (
	"bufio"
	"bytes"
	"errors"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/results"
)

// newResultsCmd groups commands that read finished results.
func newResultsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "results",
		Short: "Read, export and inspect results",
	}
	cmd.AddCommand(newResultsExportCmd())
	return cmd
}

func newResultsExportCmd() *cobra.Command {
	var csv bool
	var out string
	cmd := &cobra.Command{
		Use:   "export <results-dir-or-file>",
		Short: "Export results for spreadsheets (--csv)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !csv {
				return errors.New("results export: choose a format: --csv")
			}
			rs, err := results.Read(args[0])
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				w := bufio.NewWriter(cmd.OutOrStdout())
				if err := results.WriteCSV(w, rs); err != nil {
					return err
				}
				return w.Flush()
			}
			var b bytes.Buffer
			if err := results.WriteCSV(&b, rs); err != nil {
				return err
			}
			return results.WriteFileAtomic(out, b.Bytes())
		},
	}
	cmd.Flags().BoolVar(&csv, "csv", false, "write CSV, one row per point, units in column names")
	cmd.Flags().StringVarP(&out, "output", "o", "-", "file to write (written atomically); - for standard output")
	return cmd
}
