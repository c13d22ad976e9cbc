package web

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/export"
	"github.com/contrastive-explorer/explorer/run/runner"
)

// This file serves GET /api/runs/{id}/export?format=F[&epoch=E][&progress=K]
// (docs/protocol.md, "Exports"): whoever may watch a run may export what
// its page shows, the upload's id masked as in its summary. Exports are
// rendered on demand, one at a time (the animation takes seconds of every
// core), and kept in a small cache until the run changes.

// runSource is a run's history as export.Source.
type runSource struct {
	m *runner.Manager
	r *runner.Run
}

func (s runSource) Frames(ctx context.Context, from int) ([]run.FrameRecord, error) {
	return s.m.Frames(ctx, s.r, from)
}

func (s runSource) Epoch(ctx context.Context, e int) (run.EpochRecord, error) {
	return s.r.Epoch(ctx, e)
}

func (s runSource) Checkpoint(ctx context.Context) (int, []byte, error) {
	return s.m.Checkpoint(ctx, s.r)
}

// exportRun returns what an export of r reads, as session sees the run.
func (s *Server) exportRun(r *runner.Run, session string) *export.Run {
	sum := r.Summary()
	cfg := sum.Config
	if session != sum.Session && datasets.IsUpload(cfg.Dataset) {
		cfg.Dataset = uploadedDataset
	}
	// Before the first epoch Summary.Epoch is 0 too: reading epoch 0 then
	// answers that it has not been trained yet.
	return &export.Run{ID: r.ID(), Config: cfg, Data: r.Dataset().Data, Newest: sum.Epoch, Source: runSource{s.runs, r}}
}

func (s *Server) exportRunFile(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	name := c.QueryParam("format")
	f, ok := export.FormatOf(name)
	if !ok {
		return badInput("format", "unknown export %q (want one of %s)", clipName(name), export.FormatNames())
	}
	epoch, err := intParam(c, "epoch", -1, -1, math.MaxInt32)
	if err != nil {
		return err
	}
	key := c.QueryParam("progress")
	if len(key) > 64 {
		return badInput("progress", "must be at most 64 characters")
	}
	er := s.exportRun(r, session(c))
	if f.PerEpoch && epoch < 0 {
		epoch = er.Newest
	}
	sum := r.Summary()
	// The run's state and projection: an export of a run that changes
	// since is made again.
	cacheKey := fmt.Sprintf("%s|%s|%d|%d|%s|%s/%d|%v", r.ID(), f.Name, epoch, er.Newest, sum.State, sum.Config.Projection, sum.Config.Dims, er.Config.Dataset)
	body, ok := s.exportCache.get(cacheKey)
	if !ok {
		ctx := c.Request().Context()
		select {
		case s.exportSlot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		var buf bytes.Buffer
		req := export.Request{Format: f.Name, Epoch: epoch}
		if key != "" {
			req.Progress = func(done, total int) { s.setProgress(key, done, total) }
		}
		err := export.Write(ctx, &buf, er, req)
		<-s.exportSlot
		if err != nil {
			return err
		}
		body = buf.Bytes()
		s.exportCache.put(cacheKey, body)
	}
	if key != "" {
		s.setProgress(key, 1, 1)
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, export.FileName(er, f, epoch)))
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	return c.Blob(http.StatusOK, f.ContentType, body)
}

// exportProgressJSON answers GET /api/runs/{id}/export/progress?key=K.
type exportProgressJSON struct {
	Done  int `json:"done"`
	Total int `json:"total"` // 0 while nothing is known
}

func (s *Server) exportProgressOf(c *echo.Context) error {
	done, total := s.exportProgress.get(c.QueryParam("key"))
	return c.JSON(http.StatusOK, exportProgressJSON{Done: done, Total: total})
}

// exportCacheBytes bounds the exports kept; one larger than a quarter of
// it is not kept.
const exportCacheBytes = 64 << 20

// byteCache is a least-recently-used cache of exports.
type byteCache struct {
	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
	bytes int
}

type cacheEntry struct {
	key  string
	body []byte
}

func newByteCache() *byteCache {
	return &byteCache{order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *byteCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).body, true
}

func (c *byteCache) put(key string, body []byte) {
	if len(body) > exportCacheBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key, body})
	c.bytes += len(body)
	for c.bytes > exportCacheBytes {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.bytes -= len(e.body)
	}
}

// progressBoard holds how far the exports a page waits for have come, by
// the key the page chose, for a few minutes.
type progressBoard struct {
	mu    sync.Mutex
	byKey map[string]progress
}

type progress struct {
	done, total int
	at          time.Time
}

const (
	progressKeep = 5 * time.Minute
	progressMax  = 1024 // keys kept at most; past it the oldest go
)

func newProgressBoard() *progressBoard { return &progressBoard{byKey: make(map[string]progress)} }

func (b *progressBoard) set(key string, done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if _, ok := b.byKey[key]; !ok && len(b.byKey) >= progressMax {
		for k, p := range b.byKey {
			if now.Sub(p.at) > progressKeep || len(b.byKey) >= progressMax {
				delete(b.byKey, k)
			}
		}
	}
	b.byKey[key] = progress{done, total, now}
}

func (b *progressBoard) get(key string) (done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byKey[key]
	return p.done, p.total
}
