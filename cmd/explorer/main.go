// Command explorer trains contrastive encoders and shows how their embedding
// space organises itself, epoch by epoch.
//
// Usage:
//
//	explorer <command> [flags]
//
// Run `explorer help` for the list of commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "explorer:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line: a wrong flag or value. main exits with
// status 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand of explorer.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve the explorer in the browser (the default command)", runServe},
		{"datasets", "list the bundled datasets", runDatasets},
		{"train", "train a contrastive encoder headless and write metrics, vectors and a loss plot", runTrain},
		{"project", "project embedding vectors to 2D or 3D with PCA, t-SNE or UMAP", runProject},
		{"runs", "list, show or delete the runs kept in the data folder", runRuns},
		{"export", "write a run's coordinates, embeddings, metrics, figures, animation or encoder to a file", runExport},
		{"embed", "embed new items with a trained encoder (model.safetensors)", runEmbed},
	}
}

// run is the whole program: main only adds the process's signals and exit
// status, so tests can drive it end to end.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		// serve is the default command: `explorer` and `explorer --addr ...`.
		args = append([]string{"serve"}, args...)
	}
	name := args[0]
	if name == "help" || isHelp(name) {
		printHelp(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return usagef("unknown command %q (run 'explorer help' for the list)", name)
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Contrastive Explorer: watch a contrastive encoder learn, epoch by epoch.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: explorer [command] [flags]  (without a command: serve)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help      show this help")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'explorer <command> -h' for a command's flags.")
}
