package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/commitbench/commitbench/bench/hlog"
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
	var out, hlogDir string
	cmd := &cobra.Command{
		Use:   "export <results-dir-or-file>",
		Short: "Export results for spreadsheets (--csv) or HdrHistogram tools (--hlog DIR)",
		Long: `export writes a run's results in other tools' formats:
--csv      one row per point, units in the column names (to -o, default stdout)
--hlog DIR one HdrHistogram log per point (key and repetition in the file
           name), with the commit call's latency (tag commit) and the commit
           request's on the wire (tag wire), in ns, for HistogramLogAnalyzer.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hlogGiven := cmd.Flags().Changed("hlog")
			switch {
			case !csv && !hlogGiven:
				return errors.New("results export: choose a format: --csv, or --hlog DIR")
			case hlogGiven && hlogDir == "":
				return errors.New("--hlog needs a directory to write the .hlog files into: --hlog DIR")
			case hlogGiven:
				if fi, err := os.Stat(hlogDir); err == nil && !fi.IsDir() {
					return fmt.Errorf("--hlog %s: is a file; give a directory for the .hlog files", hlogDir)
				}
			}
			rs, err := results.Read(args[0])
			if err != nil {
				return err
			}
			if hlogGiven {
				paths, empty, err := hlog.Export(hlogDir, rs)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d HdrHistogram logs to %s", len(paths), hlogDir)
				if empty > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), " (%d points hold no commit latency: they never commit)", empty)
				}
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if !csv {
				return nil
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
	cmd.Flags().StringVarP(&out, "output", "o", "-", "file to write the CSV to (written atomically); - for standard output")
	cmd.Flags().StringVar(&hlogDir, "hlog", "", "directory to write one HdrHistogram log (.hlog) per point into")
	return cmd
}
