package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	domain "github.com/contrastive-explorer/explorer/run"
)

// runRuns is `explorer runs list|show|delete`: the runs kept in a data
// folder, for course preparation without a browser.
func runRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: explorer runs list [-data DIR] [-json]")
		fmt.Fprintln(stderr, "       explorer runs show [-data DIR] [-json] RUN")
		fmt.Fprintln(stderr, "       explorer runs delete [-data DIR] RUN...")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "List, inspect or delete the runs the explorer keeps in its data folder.")
		fmt.Fprintln(stderr, "Delete runs while the server is stopped, or from the runs page while it runs.")
	}
	if len(args) == 0 || isHelp(args[0]) {
		usage()
		if len(args) == 0 {
			return usagef("runs: which action? list, show or delete")
		}
		return nil
	}
	action := args[0]
	fs := flag.NewFlagSet("runs "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir(), "the server's data `folder`")
	storeAddr := fs.String("store", "", storeFlagHelp)
	asJSON := fs.Bool("json", false, "write JSON")
	fs.Usage = func() { usage(); fmt.Fprintln(stderr); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("runs: %v", err)
	}
	switch action {
	case "list":
		if fs.NArg() > 0 {
			return usagef("runs list: unexpected argument %q", fs.Arg(0))
		}
	case "show":
		if fs.NArg() != 1 {
			return usagef("runs show: name one run")
		}
	case "delete":
		if fs.NArg() == 0 {
			return usagef("runs delete: name the runs to delete")
		}
	default:
		return usagef("runs: unknown action %q (want list, show or delete)", action)
	}
	st, err := openKeptStore(ctx, *data, *storeAddr, "runs")
	if err != nil {
		return err
	}
	defer st.Close()
	switch action {
	case "list":
		return listRuns(ctx, st, *asJSON, stdout)
	case "show":
		return showRun(ctx, st, fs.Arg(0), *asJSON, stdout)
	}
	for _, id := range fs.Args() {
		if err := st.DeleteRun(ctx, id); errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("runs delete: there is no run %q in %s", id, *data)
		} else if err != nil {
			return fmt.Errorf("runs delete: %w", err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", id)
	}
	return nil
}

// runJSONLine is one run as `runs list -json` and `runs show -json` write
// it.
type runJSONLine struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Session bool            `json:"browser"` // started from a browser session
	State   domain.State    `json:"state"`
	Error   string          `json:"error,omitempty"`
	Epoch   int             `json:"epoch"`
	Config  domain.Config   `json:"config"`
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
	Metrics json.RawMessage `json:"metrics"`
	Epochs  []epochLine     `json:"epochs,omitempty"`
}

type epochLine struct {
	Epoch   int             `json:"epoch"`
	Metrics json.RawMessage `json:"metrics"`
}

func lineOf(l domain.Listing) runJSONLine {
	return runJSONLine{
		ID: l.ID, Name: l.Name, Session: l.Session != "", State: l.State, Error: l.Error, Epoch: max(l.Epoch, 0),
		Config: l.Config, Created: l.Created, Updated: l.Updated, Metrics: l.Metrics,
	}
}

func listRuns(ctx context.Context, st domain.Store, asJSON bool, stdout io.Writer) error {
	ls, err := st.Runs(ctx, domain.RunFilter{})
	if err != nil {
		return fmt.Errorf("runs list: %w", err)
	}
	if asJSON {
		out := make([]runJSONLine, len(ls))
		for i, l := range ls {
			out[i] = lineOf(l)
		}
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDATASET\tLOSS\tSTATE\tEPOCHS\tKNN\tCREATED")
	for _, l := range ls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", l.ID, l.Name, l.Config.Dataset, l.Config.Loss, l.State,
			max(l.Epoch, 0), l.Config.Epochs, metricText(l.Metrics, "knn_accuracy"), l.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func showRun(ctx context.Context, st domain.Store, id string, asJSON bool, stdout io.Writer) error {
	rec, err := st.Run(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("runs show: there is no run %q", id)
	} else if err != nil {
		return fmt.Errorf("runs show: %w", err)
	}
	found := &domain.Listing{Record: rec, Epoch: -1}
	line := lineOf(*found)
	frames, err := st.Frames(ctx, id, 0)
	if err != nil {
		return fmt.Errorf("runs show: %w", err)
	}
	for _, f := range frames {
		line.Epochs = append(line.Epochs, epochLine{Epoch: f.Epoch, Metrics: f.Metrics})
		line.Epoch, line.Metrics = f.Epoch, f.Metrics
	}
	if asJSON {
		return writeJSON(stdout, line)
	}
	cfg, _ := json.MarshalIndent(found.Config, "  ", "  ")
	fmt.Fprintf(stdout, "Run %s %s\n  state %s, epoch %d of %d, created %s\n", id, found.Name, found.State,
		line.Epoch, found.Config.Epochs, found.Created.Local().Format(time.RFC1123))
	if found.Error != "" {
		fmt.Fprintf(stdout, "  error: %s\n", found.Error)
	}
	fmt.Fprintf(stdout, "  config %s\n\n", cfg)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EPOCH\tLOSS\tKNN\tALIGNMENT\tUNIFORMITY")
	for _, e := range line.Epochs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.Epoch, metricText(e.Metrics, "loss"), metricText(e.Metrics, "knn_accuracy"),
			metricText(e.Metrics, "alignment"), metricText(e.Metrics, "uniformity"))
	}
	return tw.Flush()
}

// metricText formats one figure of an epoch's metrics, "-" when absent.
func metricText(metrics json.RawMessage, key string) string {
	var m map[string]any
	if json.Unmarshal(metrics, &m) != nil {
		return "-"
	}
	v, ok := m[key].(float64)
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
