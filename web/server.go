// Package web is the explorer's HTTP side: the JSON API, the pages, the
// embedded browser assets and the websockets that stream each run's epochs
// (docs/protocol.md). It adapts run/runner, which owns the runs, to HTTP:
// handlers, sessions, the frame codec and a hub per run that fans the
// encoded events out to its viewers.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/group"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/static"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Options configure a Server. Zero fields take the defaults documented on
// each.
type Options struct {
	// MaxRuns is how many CPU slots runs share (training, and projecting
	// finished runs); later runs wait in a queue. Default runtime.NumCPU().
	MaxRuns int
	// MaxQueued, MaxPerSession and MaxRunBytes bound the queue, the
	// unfinished runs of one browser session and the estimated memory of
	// one run (see runner.Options). Defaults 32, 4 and 1 GB.
	MaxQueued     int
	MaxPerSession int
	MaxRunBytes   int64
	// MaxViewBytes bounds the memory of the projections viewers choose for
	// themselves (runner.Options.MaxViewBytes). Default 512 MB.
	MaxViewBytes int64
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Store keeps runs, their history and uploads' records. Default: in
	// memory (run/memory), forgotten when the process ends.
	Store run.Store
	// Catalog lists and loads the bundled datasets. Default: the ones
	// compiled into the binary (sample-data).
	Catalog run.Catalog
	// NewTrainer makes each run's trainer, RestoreTrainer a resumed one's.
	// Defaults: trainer.New and trainer.Restore, with checkpoints.
	NewTrainer     runner.TrainerFactory
	RestoreTrainer runner.RestoreFactory
	// NewProjector makes each run's projector. Default: projection.Live.
	NewProjector runner.ProjectorFactory
	// WriteTimeout bounds each websocket write; a viewer that takes longer
	// to accept one message is disconnected. Default 10 s.
	WriteTimeout time.Duration
	// BodyLimit bounds the body of JSON requests, in bytes. Default 64 KiB.
	BodyLimit int64
	// MinBodyRate is the slowest a request body may arrive, in bytes a
	// second, after BodyGrace; a slower client is cut off (408). Defaults
	// 10 kB/s and 10 s.
	MinBodyRate int64
	BodyGrace   time.Duration
	// QueryRate bounds each client address's neighbours, search and pairs
	// requests, per second, with bursts of twice as many; past it, 429.
	// Default 20.
	QueryRate float64
	// MaxViewersPerAddress bounds the websockets open from one client
	// address (a classroom behind one NAT shares one). Default 400.
	MaxViewersPerAddress int
	// SessionKey signs session cookies, so that a cookie the server did
	// not issue is replaced rather than adopted. Keep it across restarts
	// (cmd/explorer stores it in the data folder) for sessions to survive
	// them. Default: random, for this process only.
	SessionKey []byte

	// Limits bound each upload as dataset.Parse applies them; zero fields
	// take dataset.DefaultLimits (50 MB, 100,000 items, 4,096 dimensions,
	// 1,000 classes, ...). A request body may hold twice MaxBytes plus
	// 1 MiB: the file, projector metadata and the form fields.
	Limits dataset.Limits
	// MaxUploads is how many uploaded datasets one browser session may
	// keep. Default 5.
	MaxUploads int
	// UploadMemory bounds the memory all uploaded datasets together may
	// hold, in bytes (an estimate: features, labels and texts). Default
	// 1 GB.
	UploadMemory int64
	// DataDir is the uploads folder: spool files of uploads in progress
	// and, without UploadFiles, a folder per upload kept. Default: a new folder under
	// os.TempDir(), for this process only.
	DataDir string
	// Replica names this server among replicas sharing the store
	// (runner.Options.Replica); "" for the only one.
	Replica string
	// UploadFiles keeps uploads' files where every replica reads them
	// (the PostgreSQL store). Default: a folder per upload in DataDir.
	UploadFiles datasets.Files
	// Bus, with a store that is also a run queue (PostgreSQL) and a
	// Replica, makes this server one of several (runner.Options.Bus).
	// /readyz checks it too, when it has a Ping method. nil: the only one.
	Bus runner.Bus
	// Role is what this replica does among several: RoleAll (the
	// default) serves pages and trains; RoleWeb serves pages and trains
	// nothing; RoleWorker trains, serving only /healthz, /readyz and
	// /metrics.
	Role string
	// HeartbeatTimeout is how long a replica may stay silent before its
	// unfinished runs go to another (runner.Options.HeartbeatTimeout); it
	// heartbeats every sixth of it. Default 30 s.
	HeartbeatTimeout time.Duration
}

// The roles of a replica (Options.Role).
const (
	RoleAll    = "all"
	RoleWeb    = "web"
	RoleWorker = "worker"
)

// sharedOrphanAge is how old uploads' files without a record must be
// before a starting replica removes them, when replicas share the files:
// another may be between keeping an upload's files and storing its record.
const sharedOrphanAge = time.Hour

// orphanAge is the registry's OrphanAge for files kept in f: any age for
// the data folder only this process writes, sharedOrphanAge for shared
// ones.
func orphanAge(f datasets.Files) time.Duration {
	if f == nil {
		return 0
	}
	return sharedOrphanAge
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Store == nil {
		o.Store = memory.New()
	}
	if o.Catalog == nil {
		o.Catalog = datasets.Bundled{}
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 64 << 10
	}
	if o.MinBodyRate <= 0 {
		o.MinBodyRate = 10_000
	}
	if o.BodyGrace <= 0 {
		o.BodyGrace = 10 * time.Second
	}
	if o.QueryRate <= 0 {
		o.QueryRate = 20
	}
	if o.MaxViewersPerAddress <= 0 {
		o.MaxViewersPerAddress = 400
	}
	if len(o.SessionKey) == 0 {
		o.SessionKey = []byte(run.RandomHex(32))
	}
	o.Limits = resolveLimits(o.Limits)
	if o.MaxUploads <= 0 {
		o.MaxUploads = 5
	}
	if o.UploadMemory <= 0 {
		o.UploadMemory = 1_000_000_000
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(os.TempDir(), "explorer-uploads-"+run.RandomHex(8))
	}
	return o
}

// Server is the explorer's web server: an http.Handler whose runs and
// websockets live as long as the context given to New.
type Server struct {
	ctx          context.Context
	bus          pinger     // nil without one, or when it cannot say
	runBus       runner.Bus // nil for the only replica
	replica      string
	echo         *echo.Echo
	runs         *runner.Manager
	group        *group.Group // websocket handlers
	log          *slog.Logger
	datasets     *datasets.Registry
	hellos       *helloCache
	follows      follows  // presenters' views and their followers, per run
	handoffs     handoffs // one-time links handing a run's control on
	sessionKey   []byte
	origins      *http.CrossOriginProtection
	writeTimeout time.Duration
	images       *imageCache
	limits       dataset.Limits // of uploads, resolved
	dataDir      string         // for upload spool files
	parseSlots   chan struct{}  // uploads being parsed at once

	exportSlot     chan struct{} // exports being rendered at once
	exportCache    *byteCache
	exportProgress *progressBoard

	store run.Store     // for /readyz
	stats serverMetrics // for /metrics

	maxViewers int            // websockets per client address
	viewersMu  sync.Mutex     // guards viewers
	viewers    map[string]int // open websockets by client address
}

// New returns a server whose runs and websockets stop when ctx ends: runs
// are stopped (interrupted, to be resumed after a restart) and every
// websocket is closed with status 1001 (going away). After cancelling ctx,
// call Wait to let them finish. It fails when the store cannot be read.
func New(ctx context.Context, o Options) (*Server, error) {
	o = o.withDefaults()
	s := &Server{
		ctx:   ctx,
		store: o.Store,
		group: group.New(),
		log:   o.Logger,
		datasets: datasets.New(datasets.Options{
			Catalog: o.Catalog, Store: o.Store, Dir: o.DataDir, Files: o.UploadFiles, OrphanAge: orphanAge(o.UploadFiles), Limits: resolveLimits(o.Limits),
			MaxPerSession: o.MaxUploads, MaxBytes: o.UploadMemory, Logger: o.Logger,
		}),
		hellos:         newHelloCache(),
		sessionKey:     o.SessionKey,
		origins:        http.NewCrossOriginProtection(),
		writeTimeout:   o.WriteTimeout,
		images:         newImageCache(),
		limits:         o.Limits,
		dataDir:        o.DataDir,
		parseSlots:     make(chan struct{}, parseSlots),
		exportSlot:     make(chan struct{}, 1),
		exportCache:    newByteCache(),
		exportProgress: newProgressBoard(),
		maxViewers:     o.MaxViewersPerAddress,
		viewers:        make(map[string]int),
	}
	switch o.Role {
	case "", RoleAll, RoleWeb:
	case RoleWorker:
	default:
		return nil, fmt.Errorf("web: unknown role %q (want %s, %s or %s)", o.Role, RoleAll, RoleWeb, RoleWorker)
	}
	if o.Role != "" && o.Role != RoleAll && o.Bus == nil {
		return nil, fmt.Errorf("web: the %s role needs a bus to the other replicas", o.Role)
	}
	if p, ok := o.Bus.(pinger); ok {
		s.bus = p
	}
	s.replica = o.Replica
	if o.Bus != nil {
		s.runBus = o.Bus
		if err := s.followReplicas(); err != nil {
			return nil, fmt.Errorf("web: following the other replicas on the bus: %w", err)
		}
	}
	if err := s.datasets.Restore(ctx); err != nil {
		return nil, err
	}
	runs, err := runner.New(ctx, runner.Options{
		Store: o.Store, Datasets: s.datasets,
		NewTrainer: o.NewTrainer, RestoreTrainer: o.RestoreTrainer, NewProjector: o.NewProjector,
		NewViewers: newViewers,
		MaxRuns:    o.MaxRuns, MaxQueued: o.MaxQueued, MaxPerSession: o.MaxPerSession, MaxRunBytes: o.MaxRunBytes,
		MaxViewBytes: o.MaxViewBytes, Logger: o.Logger, Replica: o.Replica,
		Bus: o.Bus, NoTraining: o.Role == RoleWeb,
		HeartbeatTimeout: o.HeartbeatTimeout, HeartbeatEvery: o.HeartbeatTimeout / 6,
	})
	if err != nil {
		return nil, err
	}
	s.runs = runs

	e := echo.NewWithConfig(echo.Config{
		Logger:           o.Logger,
		HTTPErrorHandler: s.handleError,
	})
	e.Use(middleware.Recover(), s.logRequests, bodyRate(o.BodyGrace, o.MinBodyRate), securityHeaders, s.sameOrigin)

	// Gzip everywhere but the websocket route, whose handshake it would
	// break.
	gz := middleware.Gzip()
	limit := middleware.BodyLimit(o.BodyLimit)
	perAddress := func(rate float64) echo.MiddlewareFunc {
		return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
			Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
				Rate: rate, Burst: int(2 * rate), ExpiresIn: 3 * time.Minute,
			}),
			IdentifierExtractor: func(c *echo.Context) (string, error) { return c.RealIP(), nil },
			DenyHandler: func(*echo.Context, string, error) error {
				return run.Errorf(run.TooMany, "", "too many requests from your address; wait a moment")
			},
		})
	}
	queries := perAddress(o.QueryRate)
	// A presenter's page posts its view at most every 60 ms.
	views := perAddress(presentRate)
	sessions := s.sessions

	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics)
	if o.Role == RoleWorker {
		// A training worker serves no pages: viewers use web replicas.
		e.RouteNotFound("/*", func(*echo.Context) error {
			return run.Errorf(run.NotFound, "", "this server is a training worker: open the explorer on a web replica")
		})
		s.echo = e
		return s, nil
	}
	e.GET("/", s.homePage, sessions, gz)
	e.GET("/runs", s.runsPage, sessions, gz)
	e.GET("/teach", s.teachPage, sessions, gz)
	e.GET("/runs/:id", s.runPage, sessions, gz)
	e.GET("/compare/:a/:b", s.comparePage, sessions, gz)
	e.GET("/static/*", echo.StaticDirectoryHandler(static.FS, false), gz, cacheStatic)

	// Uploads have their own, larger limit (see uploadDataset).
	e.POST("/api/datasets", s.uploadDataset, sessions)
	api := e.Group("/api", sessions, limit)
	api.GET("/datasets", s.listDatasets, gz)
	api.POST("/datasets/inspect", s.inspectUpload, queries, gz)
	api.DELETE("/datasets/:name", s.deleteDataset)
	// Pixels are compressed once and kept; PNGs are compressed already.
	api.GET("/datasets/:name/pixels", s.datasetPixels)
	api.GET("/datasets/:name/preview.png", s.datasetPreview)
	api.GET("/runs", s.listRuns, gz)
	api.POST("/runs", s.createRun, gz)
	api.GET("/runs/:id", s.getRun, gz)
	api.PATCH("/runs/:id", s.renameRun, gz)
	api.DELETE("/runs/:id", s.deleteRun)
	for _, action := range []string{"pause", "step"} {
		api.POST("/runs/:id/"+action, s.controlRun(action), gz)
	}
	api.POST("/runs/:id/resume", s.resumeRun, gz)
	api.POST("/runs/:id/stop", s.stopRun, gz)
	api.POST("/runs/:id/projection", s.setProjection, gz)
	api.POST("/runs/:id/view", s.postView, views)
	api.POST("/runs/:id/handoff", s.startHandoff, queries, gz)
	api.GET("/runs/:id/handoff.png", s.handoffQR, queries)
	api.POST("/runs/:id/claim", s.claimHandoff, queries, gz)
	api.GET("/runs/:id/neighbors", s.neighbors, queries, gz)
	api.GET("/runs/:id/pairs", s.pairs, queries, gz)
	api.GET("/runs/:id/search", s.search, queries, gz)
	api.GET("/runs/:id/pixels", s.runPixels)
	api.GET("/runs/:id/thumbnail.png", s.runThumbnail)
	api.GET("/runs/:id/export", s.exportRunFile, queries)
	api.GET("/runs/:id/export/progress", s.exportProgressOf, queries)

	e.GET("/ws/runs/:id", s.watchRun, sessions)
	e.GET("/ws/runs/:id/follow", s.followRun, sessions)

	s.echo = e
	return s, nil
}

// parseSlots is how many uploads are parsed at once; more wait their turn.
// Parsing decodes and resizes images and holds up to a file's worth of
// memory, so a burst of uploads must not take every core.
const parseSlots = 2

// resolveLimits fills l's zero fields with dataset.DefaultLimits, so the
// server's messages can name the limits in force.
func resolveLimits(l dataset.Limits) dataset.Limits {
	d := dataset.DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxItems <= 0 {
		l.MaxItems = d.MaxItems
	}
	if l.MaxDims <= 0 {
		l.MaxDims = d.MaxDims
	}
	if l.MaxClasses <= 0 {
		l.MaxClasses = d.MaxClasses
	}
	return l // Parse fills the rest
}

// ServeHTTP serves the explorer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Wait blocks until every run and websocket has stopped. Call it after the
// context given to New has ended; before that it would wait for runs that
// are still training.
func (s *Server) Wait() {
	s.group.CloseAndWait()
	s.runs.Wait()
}

// logRequests logs each request once it is answered. Websocket requests are
// logged when they end, which is when the viewer leaves.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		_, status := echo.ResolveResponseStatus(c.Response(), err)
		req := c.Request()
		s.log.Debug("request", "method", req.Method, "path", req.URL.Path, "status", status, "duration", time.Since(start))
		return err
	}
}

// contentSecurityPolicy allows the pages only what they use: their own
// scripts, styles, images, worker and websocket, no inline script, no
// plugins, and no framing by another site.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers that keep a browser from sniffing
// types, framing the explorer or running script it did not serve.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

// errCrossOrigin refuses a state-changing request another site's page
// sent.
var errCrossOrigin = run.Errorf(run.Forbidden, "", "cross-origin request refused: change runs and uploads from the explorer's own pages")

// sameOrigin refuses state-changing requests (POST, PATCH, DELETE) that a
// browser sent from another origin, another port of the same host
// included (which SameSite cookies count as the same site): the check of
// net/http.CrossOriginProtection, by Sec-Fetch-Site or else Origin.
// Requests without either header come from programs, not from a page
// that could forge them.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if err := s.origins.Check(c.Request()); err != nil {
			return errCrossOrigin
		}
		return next(c)
	}
}

// cacheStatic lets browsers keep assets for a short while: they change
// only with a new binary, and a restart should reach open tabs soon.
func cacheStatic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=60")
		return next(c)
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, or "".
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
