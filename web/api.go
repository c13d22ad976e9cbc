package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// defaultProjection is the projection of a run whose config names none:
// PCA is fast enough to keep up with training, so the first thing a
// learner sees moves smoothly.
const defaultProjection = MethodPCA

// datasetJSON is one entry of GET /api/datasets and the answer to an
// upload.
type datasetJSON struct {
	ID          string   `json:"id"` // what a run config's dataset names
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Kind        string   `json:"kind"`
	Format      string   `json:"format"` // an upload's format, "" for bundled datasets
	Items       int      `json:"items"`
	Train       int      `json:"train"`
	Test        int      `json:"test"`
	Dim         int      `json:"dim"`
	Dims        int      `json:"dims"` // = Dim
	Classes     int      `json:"classes"`
	ClassNames  []string `json:"class_names"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	Source      string   `json:"source"`
	License     string   `json:"license"`
	PreviewURL  string   `json:"preview_url"`
	PixelsURL   string   `json:"pixels_url"`
	Uploaded    bool     `json:"uploaded"`
	Precomputed bool     `json:"precomputed"`
	Synthetic   bool     `json:"synthetic"`
}

// entryJSON describes a loaded registry entry.
func entryJSON(e datasetEntry) datasetJSON {
	in := e.Info
	j := datasetJSON{
		ID: e.ID, Name: e.Name, Title: in.Title, Description: in.Description, Kind: string(in.Kind),
		Format: e.Format, Items: in.Items, Train: in.Train, Test: in.Test, Dim: in.Dim, Dims: in.Dim,
		Classes: in.Classes, ClassNames: e.ds.ClassNames, Width: in.Width, Height: in.Height,
		Source: in.Source, License: in.License,
		Uploaded: e.Uploaded, Precomputed: e.Precomputed, Synthetic: e.Synthetic,
	}
	if j.ClassNames == nil {
		j.ClassNames = []string{}
	}
	if in.Kind == dataset.Images && in.Width > 0 && in.Height > 0 {
		j.PreviewURL = "/api/datasets/" + e.ID + "/preview.png"
		j.PixelsURL = "/api/datasets/" + e.ID + "/pixels"
	}
	return j
}

func (s *Server) listDatasets(c *echo.Context) error {
	entries := s.datasets.list(session(c))
	out := make([]datasetJSON, 0, len(entries))
	for _, e := range entries {
		if e.ds == nil {
			d, err := s.datasets.catalog.Load(e.ID)
			if err != nil {
				return fmt.Errorf("loading dataset %s: %w", e.ID, err)
			}
			e.ds = d
		}
		out = append(out, entryJSON(e))
	}
	return c.JSON(http.StatusOK, out)
}

// servePixels answers a pixels request: gzipped when the client accepts
// it, cacheable by anyone only for bundled datasets.
func servePixels(c *echo.Context, px pixelBytes, public bool) error {
	h := c.Response().Header()
	if public {
		h.Set("Cache-Control", "public, max-age=3600")
	} else {
		h.Set("Cache-Control", "private, max-age=3600")
	}
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, "application/octet-stream", px.gzipped)
	}
	return c.Blob(http.StatusOK, "application/octet-stream", px.raw)
}

func (s *Server) datasetPixels(c *echo.Context) error {
	e, err := s.datasets.get(session(c), c.Param("name"))
	if err != nil {
		return err
	}
	px, err := s.images.pixels(e.ds)
	if err != nil {
		return err
	}
	return servePixels(c, px, !e.Uploaded)
}

// runPixels serves the pixels of a run's dataset to anyone watching the
// run, uploads included: sharing a run's link shares what it shows.
func (s *Server) runPixels(c *echo.Context) error {
	r, err := s.runs.get(c.Param("id"))
	if err != nil {
		return err
	}
	px, err := s.images.pixels(r.ds)
	if err != nil {
		return err
	}
	return servePixels(c, px, !r.dsEntry.Uploaded)
}

func (s *Server) datasetPreview(c *echo.Context) error {
	e, err := s.datasets.get(session(c), c.Param("name"))
	if err != nil {
		return err
	}
	b, err := s.images.preview(e.ds)
	if err != nil {
		return err
	}
	if e.Uploaded {
		c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	} else {
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	}
	return c.Blob(http.StatusOK, "image/png", b)
}

// hiddenList is the hidden layer widths of a run request: a JSON array of
// integers or, as a form field gives it, a comma-separated string ("" for
// no hidden layer).
type hiddenList []int

// UnmarshalJSON accepts [256, 128] and "256,128".
func (h *hiddenList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '"' {
		var widths []int
		if err := json.Unmarshal(b, &widths); err != nil {
			return badInput("hidden", "must be a list of layer widths such as [256, 128]")
		}
		*h = widths
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return badInput("hidden", "must be a list of layer widths such as \"256,128\"")
	}
	widths := []int{}
	for part := range strings.SplitSeq(str, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		w, err := strconv.Atoi(part)
		if err != nil {
			return badInput("hidden", "%q is not a whole number: write layer widths such as 256,128", part)
		}
		widths = append(widths, w)
	}
	*h = widths
	return nil
}

// runRequest is the body of POST /api/runs: the trainer's config plus the
// projection. Fields left out keep their defaults.
type runRequest struct {
	trainer.Config
	Hidden     hiddenList `json:"hidden"` // shadows Config.Hidden to accept both forms
	Projection string     `json:"projection"`
	Dims       int        `json:"dims"`
}

// decodeJSON reads a JSON object from the request body into v, refusing
// unknown fields and trailing data. An empty body leaves v as it is.
func decodeJSON(c *echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return badInput("", "the body must hold one JSON object")
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		ie  *inputError
		sc  echo.HTTPStatusCoder
	)
	switch {
	case errors.As(err, &ie), errors.As(err, &sc):
		return err
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return badInput("", "the body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		return badInput(field, "must be a %s", jsonKind(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badInput(name, "there is no setting called %q", name)
	}
	return badInput("", "the body is not a valid request: %v", err)
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "whole number"
	case strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice" || kind == "array":
		return "list"
	case kind == "bool":
		return "true or false"
	}
	return kind
}

// createResponse answers POST /api/runs: the summary and, once only, the
// control token.
type createResponse struct {
	RunSummary
	Token string `json:"token"`
}

func (s *Server) createRun(c *echo.Context) error {
	def := trainer.DefaultConfig()
	req := runRequest{Config: def, Hidden: def.Hidden, Projection: defaultProjection, Dims: 2}
	req.Dataset = s.datasets.firstBundled()
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cfg := RunConfig{Config: req.Config, Projection: req.Projection, Dims: req.Dims}
	cfg.Hidden = []int(req.Hidden)
	if cfg.Dataset == "" {
		return badInput("dataset", "choose a dataset")
	}
	// Another session's upload is as unknown as a name nobody uses.
	d, err := s.datasets.get(session(c), cfg.Dataset)
	if isUnknownDataset(err) {
		return badInput("dataset", "there is no dataset %q", clipName(cfg.Dataset))
	} else if err != nil {
		return err
	}
	r, token, err := s.runs.create(cfg, d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createResponse{RunSummary: r.summary(), Token: token})
}

func (s *Server) listRuns(c *echo.Context) error {
	return c.JSON(http.StatusOK, s.runs.list())
}

func (s *Server) getRun(c *echo.Context) error {
	r, err := s.runs.get(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r.summary())
}

// controlledRun returns the run named in the path if the request carries
// its token: 404 for an unknown run comes before 403 for a bad token.
func (s *Server) controlledRun(c *echo.Context) (*run, error) {
	r, err := s.runs.get(c.Param("id"))
	if err != nil {
		return nil, err
	}
	if !r.authorized(bearerToken(c.Request())) {
		return nil, errForbidden
	}
	return r, nil
}

func (s *Server) controlRun(action string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r, err := s.controlledRun(c)
		if err != nil {
			return err
		}
		sum, err := r.control(action)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, sum)
	}
}

func (s *Server) stopRun(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	sum, err := s.runs.stop(r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

// projectionRequest is the body of POST /api/runs/{id}/projection; a field
// left out keeps the run's current value.
type projectionRequest struct {
	Method string `json:"method"`
	Dims   int    `json:"dims"`
}

func (s *Server) setProjection(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	cur := r.summary().Projection
	req := projectionRequest{Method: cur.Method, Dims: cur.Dims}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch req.Method {
	case MethodPCA, MethodTSNE:
	default:
		return badInput("method", "unknown projection %q (want pca or tsne)", req.Method)
	}
	if req.Dims != 2 && req.Dims != 3 {
		return badInput("dims", "must be 2 or 3, got %d", req.Dims)
	}
	return c.JSON(http.StatusOK, r.setProjection(req.Method, req.Dims))
}
