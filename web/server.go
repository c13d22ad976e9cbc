// Package web is the explorer's HTTP side: the JSON API, the pages, the
// embedded browser assets and the websockets that stream each run's epochs
// (docs/protocol.md). It composes trainer and projection through the
// interfaces declared here: a Manager runs at most MaxRuns trainings at once
// and queues the rest, each run projects its epochs and fans the encoded
// frames out to its viewers through a hub, and a Store keeps the history
// late joiners replay.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/contrastive-explorer/explorer/static"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Options configure a Server. Zero fields take the defaults documented on
// each.
type Options struct {
	// MaxRuns is how many runs may train at once; later ones wait in a
	// queue. Default runtime.NumCPU().
	MaxRuns int
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Store keeps runs and their history. Default NewMemoryStore().
	Store Store
	// Catalog lists and loads the bundled datasets. Default: the ones
	// compiled into the binary (sample-data).
	Catalog Catalog
	// NewTrainer makes each run's trainer. Default trainer.New.
	NewTrainer TrainerFactory
	// NewProjector makes each run's projector. Default: projection.Live.
	NewProjector ProjectorFactory
	// WriteTimeout bounds each websocket write; a viewer that takes longer
	// to accept one message is disconnected. Default 10 s.
	WriteTimeout time.Duration
	// BodyLimit bounds the body of JSON requests, in bytes. Default 64 KiB.
	BodyLimit int64

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
	// DataDir is the folder for spool files of uploads in progress.
	// Default os.TempDir().
	DataDir string
}

func (o Options) withDefaults() Options {
	if o.MaxRuns <= 0 {
		o.MaxRuns = runtime.NumCPU()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	if o.Catalog == nil {
		o.Catalog = bundled{}
	}
	if o.NewTrainer == nil {
		o.NewTrainer = newTrainer
	}
	if o.NewProjector == nil {
		o.NewProjector = newLiveProjector
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 64 << 10
	}
	o.Limits = resolveLimits(o.Limits)
	if o.MaxUploads <= 0 {
		o.MaxUploads = 5
	}
	if o.UploadMemory <= 0 {
		o.UploadMemory = 1_000_000_000
	}
	if o.DataDir == "" {
		o.DataDir = os.TempDir()
	}
	return o
}

// Server is the explorer's web server: an http.Handler whose runs and
// websockets live as long as the context given to New.
type Server struct {
	ctx          context.Context
	echo         *echo.Echo
	runs         *Manager
	group        *group
	log          *slog.Logger
	datasets     *registry
	writeTimeout time.Duration
	images       *imageCache
	limits       dataset.Limits // of uploads, resolved
	dataDir      string         // for upload spool files
	parseSlots   chan struct{}  // uploads being parsed at once
}

// New returns a server whose runs and websockets stop when ctx ends: runs
// are stopped and every websocket is closed with status 1001 (going away).
// After cancelling ctx, call Wait to let them finish.
func New(ctx context.Context, o Options) *Server {
	o = o.withDefaults()
	g := newGroup()
	s := &Server{
		ctx:          ctx,
		runs:         newManager(ctx, o, g),
		group:        g,
		log:          o.Logger,
		datasets:     newRegistry(o.Catalog, o.MaxUploads, o.UploadMemory),
		writeTimeout: o.WriteTimeout,
		images:       newImageCache(),
		limits:       o.Limits,
		dataDir:      o.DataDir,
		parseSlots:   make(chan struct{}, parseSlots),
	}
	context.AfterFunc(ctx, s.runs.shutdown)

	e := echo.NewWithConfig(echo.Config{
		Logger:           o.Logger,
		HTTPErrorHandler: s.handleError,
	})
	e.Use(middleware.Recover(), s.logRequests)

	// Gzip everywhere but the websocket route, whose handshake it would
	// break.
	gz := middleware.Gzip()
	limit := middleware.BodyLimit(o.BodyLimit)

	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/", s.homePage, sessions, gz)
	e.GET("/runs/:id", s.runPage, sessions, gz)
	e.GET("/static/*", echo.StaticDirectoryHandler(static.FS, false), gz, cacheStatic)

	// Uploads have their own, larger limit (see uploadDataset).
	e.POST("/api/datasets", s.uploadDataset, sessions)
	api := e.Group("/api", sessions, limit)
	api.GET("/datasets", s.listDatasets, gz)
	api.DELETE("/datasets/:name", s.deleteDataset)
	// Pixels are compressed once and kept; PNGs are compressed already.
	api.GET("/datasets/:name/pixels", s.datasetPixels)
	api.GET("/datasets/:name/preview.png", s.datasetPreview)
	api.GET("/runs", s.listRuns, gz)
	api.POST("/runs", s.createRun, gz)
	api.GET("/runs/:id", s.getRun, gz)
	for _, action := range []string{"pause", "resume", "step"} {
		api.POST("/runs/:id/"+action, s.controlRun(action), gz)
	}
	api.POST("/runs/:id/stop", s.stopRun, gz)
	api.POST("/runs/:id/projection", s.setProjection, gz)
	api.GET("/runs/:id/neighbors", s.neighbors, gz)
	api.GET("/runs/:id/pairs", s.pairs, gz)
	api.GET("/runs/:id/search", s.search, gz)
	api.GET("/runs/:id/pixels", s.runPixels)

	e.GET("/ws/runs/:id", s.watchRun)

	s.echo = e
	return s
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
func (s *Server) Wait() { s.group.closeAndWait() }

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
