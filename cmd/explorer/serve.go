package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/contrastive-explorer/explorer/run/natsbus"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/web"
)

// shutdownGrace bounds how long serve waits for ordinary HTTP requests in
// flight when it stops.
const shutdownGrace = 10 * time.Second

// runServe is `explorer serve`: the web explorer on one address until ctx
// ends (SIGINT or SIGTERM from main), then a graceful stop: runs stopped,
// websockets closed with status 1001, requests in flight finished.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one)")
	data := fs.String("data", defaultDataDir(), "`folder` for runs and uploads, created if missing")
	storeAddr := fs.String("store", "", "keep runs and uploaded files in the PostgreSQL database at this `postgres://` URL instead of --data (the session key and uploads in progress stay in --data)")
	natsAddr := fs.String("nats", "", "share runs with the other replicas on the same --store through the NATS servers at this `nats://` URL (comma-separated for a cluster): any replica queues a run, one with a free slot trains it, every one shows it live")
	role := fs.String("role", web.RoleAll, "what this replica does among several (needs --nats): all (serve pages and train), web (serve pages, train nothing) or worker (train; serve only /healthz, /readyz and /metrics)")
	heartbeat := fs.Duration("heartbeat-timeout", 30*time.Second, "with --nats: how long a replica may stay silent before its runs are queued again for another to resume (it heartbeats every sixth of this)")
	maxRuns := fs.Int("max-runs", runtime.NumCPU(), "how many runs may train (or project) at once; later ones wait in a queue")
	maxQueued := fs.Int("max-queued", 32, "how many runs may wait in the queue; more are refused (429)")
	maxPerSession := fs.Int("max-runs-per-session", 4, "how many unfinished runs one browser session may have")
	maxViewers := fs.Int("max-viewers-per-address", 400, "open run views (websockets) one client address may have; a classroom behind one NAT shares one")
	maxRunMB := fs.Int("max-run-mb", defaultMaxRunMB(), "estimated memory one run may use while it trains, in `MB` (default: an eighth of this machine's)")
	viewMemoryMB := fs.Int("view-memory-mb", 512, "memory the projections viewers choose for themselves (their own method or 3D) may hold together, in `MB`; past it, more are refused until idle ones are dropped")
	def := dataset.DefaultLimits()
	maxUploadMB := fs.Int("max-upload-mb", int(def.MaxBytes/1_000_000), "largest uploaded file, in `MB`")
	maxItems := fs.Int("max-items", def.MaxItems, "most items (points) in an uploaded dataset")
	maxDims := fs.Int("max-dims", def.MaxDims, "most features per item in an uploaded dataset (vector length, image side²)")
	maxClasses := fs.Int("max-classes", def.MaxClasses, "most distinct labels in an uploaded dataset")
	maxUploads := fs.Int("max-uploads", 5, "most uploaded datasets one browser session may keep")
	uploadMemoryMB := fs.Int("upload-memory-mb", 1000, "memory all uploaded datasets together may hold, in `MB`")
	memoryTargetMB := fs.Int("memory-target-mb", defaultMemoryTargetMB, "memory the server aims to stay under, in `MB`: the garbage collector works harder near it, and allows what is live a quarter again above it when the work needs more (0: off; GOMEMLIMIT, if set, wins)")
	verbose := fs.Bool("v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: explorer serve [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Serve the explorer: pick a dataset and a loss in the browser and watch the encoder learn.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("serve: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max-runs", *maxRuns}, {"max-queued", *maxQueued}, {"max-runs-per-session", *maxPerSession},
		{"max-run-mb", *maxRunMB}, {"max-viewers-per-address", *maxViewers}, {"max-upload-mb", *maxUploadMB}, {"max-items", *maxItems}, {"max-dims", *maxDims},
		{"max-classes", *maxClasses}, {"max-uploads", *maxUploads}, {"upload-memory-mb", *uploadMemoryMB},
		{"view-memory-mb", *viewMemoryMB},
	} {
		if f.v < 1 {
			return usagef("serve: --%s must be at least 1, got %d", f.name, f.v)
		}
	}
	switch *role {
	case web.RoleAll, web.RoleWeb, web.RoleWorker:
	default:
		return usagef("serve: --role must be all, web or worker, got %q", *role)
	}
	if *role != web.RoleAll && *natsAddr == "" {
		return usagef("serve: --role %s needs --nats: a replica that only serves or only trains needs others to do the rest", *role)
	}
	if *natsAddr != "" && *storeAddr == "" {
		return usagef("serve: --nats needs --store postgres://...: replicas share their runs and queue in PostgreSQL")
	}
	if *heartbeat < time.Second {
		return usagef("serve: --heartbeat-timeout must be at least 1s, got %s", *heartbeat)
	}
	if *memoryTargetMB < 0 {
		return usagef("serve: --memory-target-mb must be 0 (off) or more, got %d", *memoryTargetMB)
	}
	if *maxItems < dataset.MinItems {
		return usagef("serve: --max-items must be at least %d, got %d", dataset.MinItems, *maxItems)
	}
	defer keepMemoryTarget(ctx, int64(*memoryTargetMB)*1_000_000, liveHeap)()
	store, err := openServeStore(ctx, *data, *storeAddr)
	if err != nil {
		if u := (*usageError)(nil); errors.As(err, &u) {
			return err
		}
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()
	key, err := sessionKey(*data)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	replica, err := replicaID(*data)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var bus *natsbus.Bus
	if *natsAddr != "" {
		if bus, err = natsbus.Connect(ctx, *natsAddr, "explorer "+replica, log); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer bus.Close()
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	appCtx, stop := context.WithCancel(ctx)
	defer stop()
	limits := dataset.DefaultLimits()
	limits.MaxBytes = int64(*maxUploadMB) * 1_000_000
	limits.MaxItems, limits.MaxDims, limits.MaxClasses = *maxItems, *maxDims, *maxClasses
	opts := web.Options{
		Store: store, SessionKey: key, Logger: log,
		MaxRuns: *maxRuns, MaxQueued: *maxQueued, MaxPerSession: *maxPerSession, MaxRunBytes: int64(*maxRunMB) * 1_000_000,
		MaxViewBytes:         int64(*viewMemoryMB) * 1_000_000,
		MaxViewersPerAddress: *maxViewers,
		Limits:               limits, MaxUploads: *maxUploads, UploadMemory: int64(*uploadMemoryMB) * 1_000_000,
		DataDir: filepath.Join(*data, uploadsDir), UploadFiles: uploadFiles(store), Replica: replica,
		Role: *role, HeartbeatTimeout: *heartbeat,
	}
	if bus != nil {
		opts.Bus = bus
	}
	app, err := web.New(appCtx, opts)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies have a minimum rate instead of a fixed deadline (see
		// web's body rate limit); idle keep-alive connections go.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Contrastive Explorer is running at %s (Ctrl+C to stop)\n", browserURL(ln.Addr()))
	fmt.Fprintf(stdout, "Runs and uploads are kept in %s\n", *data)
	log.Info("serving", "addr", ln.Addr().String(), "data", *data, "max_runs", *maxRuns, "role", *role, "replica", replica)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-served:
	}
	// Stop runs and close websockets first: Shutdown does not know about
	// hijacked connections, and would wait for nothing else.
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running at shutdown", "err", err)
	}
	app.Wait()
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", serveErr)
}

// browserURL is the address to open in a browser: a wildcard listen
// address is reachable as localhost.
func browserURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port)) + "/"
}
