package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	sampledata "github.com/contrastive-explorer/explorer/sample-data"
)

// runDatasets lists the bundled datasets: a table of sizes, then each
// dataset's licence and source. With -json it writes the list as a JSON
// array instead.
func runDatasets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("datasets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "write the list as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: explorer datasets [-json]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "List the datasets bundled with the explorer.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("datasets: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("datasets: unexpected argument %q", fs.Arg(0))
	}

	infos := sampledata.List()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		return nil
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tITEMS\tTRAIN/TEST\tDIM\tCLASSES\tTITLE")
	for _, in := range infos {
		dim := fmt.Sprint(in.Dim)
		if in.Width > 0 && in.Height > 0 {
			dim = fmt.Sprintf("%d (%d×%d)", in.Dim, in.Width, in.Height)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%s\t%d\t%s\n",
			in.Name, in.Kind, in.Items, in.Train, in.Test, dim, in.Classes, in.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	fmt.Fprintln(stdout)
	for _, in := range infos {
		fmt.Fprintf(stdout, "%s: licence %s; source: %s\n", in.Name, in.License, in.Source)
	}
	return nil
}
