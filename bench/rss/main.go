// Command rss checks that the explorer server's resident memory stays under
// a bound while it serves stored runs and trains new ones
// (docs/benchmarks.md, "RSS under load").
//
// It drives a real `explorer serve` process in two phases. First it trains
// -finished Fashion-MNIST runs of -epochs epochs (PCA projection) through
// the HTTP API and waits until all are done. Then it restarts the server on
// the same data folder, so the finished runs are only in the store, and,
// sampling the server's VmRSS from /proc every -interval, starts -training
// new runs (t-SNE projection) with a viewer on each and, once they train,
// opens one websocket viewer on each finished run; each of those receives
// the whole history as a late joiner. It stops when the new runs are done.
//
// Only the server's process is measured, never this program. It prints
// the peak VmRSS and VmHWM, the RSS over time and what every viewer
// received, and exits with status 1 when VmHWM reaches -limit-mb or a
// viewer did not get every epoch.
//
// Usage:
//
//	rss -explorer BIN -work DIR [flags]
//
// bench/rss/run.sh builds both binaries and runs it in a fresh folder.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	explorer string // the explorer binary
	work     string // empty folder for the data folder and the server logs
	reuse    string // a data folder holding the finished runs already, or ""
	dataset  string
	finished int // stored runs viewed in the second phase
	training int // runs trained in the second phase
	epochs   int
	slots    int   // --max-runs of the second phase's server
	limit    int64 // bytes VmHWM must stay under
	interval time.Duration
	prepare  time.Duration // cap on the first phase
	load     time.Duration // cap on the second phase
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("rss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.explorer, "explorer", "", "the explorer `binary` to serve with (required)")
	fs.StringVar(&c.work, "work", "", "an empty `folder` for the server's data folder and logs (required)")
	fs.StringVar(&c.reuse, "reuse", "", "skip training the finished runs: take them from this data `folder` of an earlier run (kept when a check fails); the new runs are added to it")
	fs.StringVar(&c.dataset, "dataset", "fashion", "bundled dataset id of every run")
	fs.IntVar(&c.finished, "finished", 20, "finished runs to store, then view after the restart")
	fs.IntVar(&c.training, "training", 4, "runs to train (t-SNE) while the finished ones are viewed")
	fs.IntVar(&c.epochs, "epochs", 50, "epochs of every run")
	fs.IntVar(&c.slots, "slots", 0, "--max-runs of the server under load (default: -training, so they all train at once)")
	limitMB := fs.Int("limit-mb", 1000, "the bound: the server's VmHWM must stay under this many `MB` (10⁶ bytes)")
	fs.DurationVar(&c.interval, "interval", 100*time.Millisecond, "how often the server's VmRSS is read")
	fs.DurationVar(&c.prepare, "prepare-timeout", 20*time.Minute, "cap on training the finished runs")
	fs.DurationVar(&c.load, "load-timeout", 10*time.Minute, "cap on the measured phase; reaching it fails the check")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.explorer == "" || c.work == "" {
		return c, errors.New("-explorer and -work are required")
	}
	if c.finished < 0 || c.training < 1 || c.epochs < 1 || *limitMB < 1 || c.interval <= 0 {
		return c, errors.New("-finished must be ≥ 0; -training, -epochs, -limit-mb and -interval positive")
	}
	if c.slots == 0 {
		c.slots = c.training
	}
	c.limit = int64(*limitMB) * 1_000_000
	return c, nil
}

// run is the whole program; it returns an error when the check fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(c.work); err != nil {
		return err
	} else if len(entries) > 0 {
		return fmt.Errorf("-work %s is not empty: the data folder must be fresh", c.work)
	}
	data := filepath.Join(c.work, "data")
	fmt.Fprintf(stdout, "machine: %d CPUs, MemTotal %s, load %s; %s\n",
		runtime.NumCPU(), memTotal(), loadAvg(), envNote())

	var ids []string
	if c.reuse != "" {
		data = c.reuse
		ids, err = storedRuns(ctx, c, data)
		fmt.Fprintf(stdout, "phase 1 skipped: %d finished runs in the -reuse folder\n", len(ids))
	} else {
		ids, err = prepare(ctx, c, data, stdout)
	}
	if err != nil {
		return fmt.Errorf("preparing the finished runs: %w", err)
	}
	res, err := measure(ctx, c, data, ids, stdout)
	if err != nil {
		return fmt.Errorf("measuring: %w", err)
	}
	res.print(stdout, c)
	return res.verdict(stdout, c)
}

// envNote names the Go runtime settings the server inherits, which change
// its memory figure.
func envNote() string {
	s := ""
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		if v, ok := os.LookupEnv(k); ok {
			s += fmt.Sprintf("%s=%s ", k, v)
		}
	}
	if s == "" {
		return "GOGC, GOMEMLIMIT and GOMAXPROCS unset"
	}
	return s + "set in the server's environment"
}

// storedRuns returns the first c.finished done PCA runs of c.epochs
// epochs on c.dataset in data, as `explorer runs list` lists them.
func storedRuns(ctx context.Context, c config, data string) ([]string, error) {
	out, err := exec.CommandContext(ctx, c.explorer, "runs", "list", "-json", "-data", data).Output()
	if err != nil {
		return nil, fmt.Errorf("explorer runs list: %w", err)
	}
	var runs []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Epoch  int    `json:"epoch"`
		Config struct {
			Dataset    string `json:"dataset"`
			Projection string `json:"projection"`
		} `json:"config"`
	}
	if err := json.Unmarshal(out, &runs); err != nil {
		return nil, fmt.Errorf("explorer runs list: %w", err)
	}
	var ids []string
	for _, r := range runs {
		if r.State == "done" && r.Epoch == c.epochs && r.Config.Dataset == c.dataset && r.Config.Projection == "pca" && len(ids) < c.finished {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) < c.finished {
		return nil, fmt.Errorf("%s holds %d done PCA runs of %d epochs on %s, want %d", data, len(ids), c.epochs, c.dataset, c.finished)
	}
	return ids, nil
}

// prepare trains c.finished runs on a fresh server in data and returns
// their ids once every one is done.
func prepare(ctx context.Context, c config, data string, stdout io.Writer) ([]string, error) {
	if c.finished == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.prepare)
	defer cancel()
	n := fmt.Sprint(c.finished + c.training)
	srv, err := startServer(ctx, c.explorer, data, filepath.Join(c.work, "server-prepare.log"),
		"--max-runs-per-session", n, "--max-queued", n)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	api, err := newClient(ctx, srv.url, c.dataset)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ids := make([]string, 0, c.finished)
	for range c.finished {
		s, err := api.createRun(ctx, runRequest{Dataset: c.dataset, Epochs: c.epochs, Projection: "pca"})
		if err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	fmt.Fprintf(stdout, "phase 1: created %d %s runs of %d epochs (PCA) on server pid %d; training them\n",
		len(ids), c.dataset, c.epochs, srv.pid())
	samp := startSampler(srv.pid(), time.Second)
	last := time.Now()
	for {
		done, err := api.countDone(ctx, ids)
		if err != nil {
			samp.stop()
			return nil, err
		}
		if done == len(ids) {
			break
		}
		if time.Since(last) >= 30*time.Second {
			last = time.Now()
			fmt.Fprintf(stdout, "  %3.0fs  %d/%d done, server VmRSS %s, load %s\n",
				time.Since(start).Seconds(), done, len(ids), mb(samp.current()), loadAvg())
		}
		select {
		case <-ctx.Done():
			samp.stop()
			return nil, fmt.Errorf("%d/%d runs done after %s: %w", done, len(ids), c.prepare, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	samp.stop()
	hwm, _ := readStatus(srv.pid())
	fmt.Fprintf(stdout, "phase 1: %d runs done in %.0f s; that server's VmHWM %s (not the measured figure)\n",
		len(ids), time.Since(start).Seconds(), mb(hwm.hwm))
	if err := srv.stop(); err != nil {
		return nil, err
	}
	return ids, nil
}
