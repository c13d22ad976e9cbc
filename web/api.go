package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// defaultProjection is the projection of a run whose config names none:
// PCA is fast enough to keep up with training, so the first thing a
// learner sees moves smoothly.
const defaultProjection = run.MethodPCA

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
	// Defaults are the form settings the dataset's defaults change
	// (trainer.DefaultConfigFor), as the form's field names and values.
	Defaults map[string]any `json:"defaults"`
	// UnusablePairs says, for each pair source the dataset cannot make,
	// why (trainer.UnusablePairs).
	UnusablePairs map[string]string `json:"unusable_pairs"`
}

// entryJSON describes a loaded registry entry.
func entryJSON(e datasets.Entry) datasetJSON {
	in := e.Info
	j := datasetJSON{
		ID: e.ID, Name: e.Name, Title: in.Title, Description: in.Description, Kind: string(in.Kind),
		Format: e.Format, Items: in.Items, Train: in.Train, Test: in.Test, Dim: in.Dim, Dims: in.Dim,
		Classes: in.Classes, ClassNames: e.Data.ClassNames, Width: in.Width, Height: in.Height,
		Source: in.Source, License: in.License,
		Uploaded: e.Uploaded, Precomputed: e.Precomputed, Synthetic: e.Synthetic,
		UnusablePairs: trainer.UnusablePairs(e.Data),
	}
	j.Defaults = formDefaults(e.Data, j.UnusablePairs)
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
	entries, err := s.loadedDatasets(session(c))
	if err != nil {
		return err
	}
	out := make([]datasetJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, entryJSON(e))
	}
	return c.JSON(http.StatusOK, out)
}

// loadedDatasets lists the datasets sess sees, each loaded (their
// defaults and the pairs they can make depend on the data). An upload that
// cannot be read now is left out and logged.
func (s *Server) loadedDatasets(sess string) ([]datasets.Entry, error) {
	entries := s.datasets.List(sess)
	out := entries[:0]
	for _, e := range entries {
		if e.Data == nil && e.Uploaded {
			l, err := s.datasets.Get(sess, e.ID)
			if err != nil {
				// Kept, but not readable now (memory, or a damaged file):
				// the rest of the list is still worth showing.
				s.log.Warn("loading an upload", "id", e.ID, "err", err)
				continue
			}
			e = l
		}
		if e.Data == nil {
			d, err := s.datasets.Catalog().Load(e.ID)
			if err != nil {
				return nil, fmt.Errorf("loading dataset %s: %w", e.ID, err)
			}
			e.Data = d
		}
		out = append(out, e)
	}
	return out, nil
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
	e, err := s.datasets.Get(session(c), c.Param("name"))
	if err != nil {
		return err
	}
	px, err := s.images.pixels(e.Data)
	if err != nil {
		return err
	}
	return servePixels(c, px, !e.Uploaded)
}

// runPixels serves the pixels of a run's dataset to anyone watching the
// run, uploads included: sharing a run's link shares what it shows.
func (s *Server) runPixels(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	d := r.Dataset()
	px, err := s.images.pixels(d.Data)
	if err != nil {
		return err
	}
	return servePixels(c, px, !d.Uploaded)
}

func (s *Server) datasetPreview(c *echo.Context) error {
	e, err := s.datasets.Get(session(c), c.Param("name"))
	if err != nil {
		return err
	}
	b, err := s.images.preview(e.Data)
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
	req := c.Request()
	if req.ContentLength != 0 && !isJSON(req.Header.Get("Content-Type")) {
		// A form or text/plain body is what a page on another site can
		// send without asking: refuse it before reading it.
		return run.Errorf(run.Unsupported, "", "send the body as JSON, with Content-Type: application/json")
	}
	return decodeJSONFrom(req.Body, v)
}

// decodeJSONFrom is decodeJSON's reading of r, with its answers to bad
// JSON.
func decodeJSONFrom(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
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
		re  *run.Error
		sc  echo.HTTPStatusCoder
	)
	switch {
	case errors.As(err, &re), errors.As(err, &sc):
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

// isJSON reports whether a Content-Type names JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
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
	var raw json.RawMessage
	if err := decodeJSON(c, &raw); err != nil {
		return err
	}
	// What the request leaves out comes from its dataset's defaults
	// (trainer.DefaultConfigFor), so the dataset is read first; a value of
	// the wrong type is reported by the full decoding below.
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	name := s.datasets.FirstBundled()
	if v, ok := fields["dataset"]; ok {
		name = ""
		_ = json.Unmarshal(v, &name)
	}
	if name == "" {
		return badInput("dataset", "choose a dataset")
	}
	// Another session's upload is as unknown as a name nobody uses.
	d, err := s.datasets.Get(session(c), name)
	if datasets.IsUnknown(err) {
		return badInput("dataset", "there is no dataset %q", clipName(name))
	} else if err != nil {
		return err
	}
	def := trainer.DefaultConfigFor(d.Data)
	if v, ok := fields["pairs"]; ok {
		var pairs string
		if json.Unmarshal(v, &pairs) == nil && pairs != "" {
			def = trainer.DefaultConfigForPairs(d.Data, pairs)
		}
	}
	req := runRequest{Config: def, Hidden: def.Hidden, Projection: defaultProjection, Dims: 2}
	req.Dataset = name
	if len(raw) > 0 {
		if err := decodeJSONFrom(bytes.NewReader(raw), &req); err != nil {
			return err
		}
	}
	cfg := run.Config{Config: req.Config, Projection: req.Projection, Dims: req.Dims}
	cfg.Hidden = []int(req.Hidden)
	r, token, err := s.runs.Create(c.Request().Context(), session(c), cfg, d.Dataset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createResponse{RunSummary: summaryJSON(r.Summary(), session(c)), Token: token})
}

// run returns the run named in the path.
func (s *Server) run(c *echo.Context) (*runner.Run, error) {
	return s.runs.Get(c.Request().Context(), c.Param("id"))
}

func (s *Server) getRun(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, summaryJSON(r.Summary(), session(c)))
}

// controlledRun returns the run named in the path if the request carries
// its token: 404 for an unknown run comes before 403 for a bad token.
func (s *Server) controlledRun(c *echo.Context) (*runner.Run, error) {
	r, err := s.run(c)
	if err != nil {
		return nil, err
	}
	if !r.Authorized(bearerToken(c.Request())) {
		return nil, errForbidden
	}
	return r, nil
}

// answerSummary answers with a run's summary, or the error that came
// instead.
func answerSummary(c *echo.Context, sum runner.Summary, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, summaryJSON(sum, session(c)))
}

func (s *Server) controlRun(action string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r, err := s.controlledRun(c)
		if err != nil {
			return err
		}
		sum, err := r.Control(action)
		return answerSummary(c, sum, err)
	}
}

func (s *Server) stopRun(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	sum, err := s.runs.Stop(r)
	return answerSummary(c, sum, err)
}

// resumeRun continues a paused run, or an interrupted one (its server
// stopped or crashed) from its last checkpoint.
func (s *Server) resumeRun(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	if r.Summary().State == run.Interrupted {
		sum, err := s.runs.Resume(c.Request().Context(), r)
		return answerSummary(c, sum, err)
	}
	sum, err := r.Control("resume")
	return answerSummary(c, sum, err)
}

// deleteRun removes a run and its history.
func (s *Server) deleteRun(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	if err := s.runs.Delete(c.Request().Context(), r); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// renameRequest is the body of PATCH /api/runs/{id}.
type renameRequest struct {
	Name *string `json:"name"`
}

// maxRunName bounds a run's name, in characters.
const maxRunName = 100

// renameRun sets a run's name.
func (s *Server) renameRun(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	var req renameRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return badInput("name", "give the run's new name")
	}
	name := strings.TrimSpace(*req.Name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxRunName {
		return badInput("name", "must be valid text of at most %d characters", maxRunName)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		// Tabs, newlines and NUL break lists and tables (and PostgreSQL's
		// text refuses NUL).
		return badInput("name", "must be one line of text, without control characters")
	}
	sum, err := r.Rename(name)
	return answerSummary(c, sum, err)
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
	cur := r.Summary()
	req := projectionRequest{Method: cur.Config.Projection, Dims: cur.Config.Dims}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sum, err := r.SetProjection(req.Method, req.Dims)
	return answerSummary(c, sum, err)
}

// runEntryJSON is one run of GET /api/runs.
type runEntryJSON struct {
	RunSummary
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
	Shared  bool            `json:"shared"`  // listed because this browser opened its link
	Metrics json.RawMessage `json:"metrics"` // the newest epoch's, null before the first
}

// maxListedRuns bounds GET /api/runs.
const maxListedRuns = 1000

// listRuns answers this session's runs, created or opened, newest first.
func (s *Server) listRuns(c *echo.Context) error {
	sess := session(c)
	entries, err := s.runs.List(c.Request().Context(), sess, maxListedRuns)
	if err != nil {
		return err
	}
	out := make([]runEntryJSON, len(entries))
	for i, e := range entries {
		out[i] = runEntryJSON{
			RunSummary: summaryJSON(e.Summary, sess), Created: e.Created, Updated: e.Updated,
			Shared: e.Shared, Metrics: e.Metrics,
		}
	}
	return c.JSON(http.StatusOK, out)
}
