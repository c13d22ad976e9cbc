package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func TestHealthz(t *testing.T) {
	s := newTestServer(t, Options{})
	a := call(t, s, "GET", "/healthz", nil, "")
	if a.status != http.StatusOK || string(a.body) != "ok" {
		t.Fatalf("GET /healthz: %d %q", a.status, a.body)
	}
}

func TestDatasets(t *testing.T) {
	s := newTestServer(t, Options{})
	var list []datasetJSON
	a := call(t, s, "GET", "/api/datasets", nil, "")
	if a.status != http.StatusOK {
		t.Fatalf("GET /api/datasets: %d %s", a.status, a.body)
	}
	a.json(t, &list)
	var digits *datasetJSON
	for i := range list {
		if list[i].Name == "digits" {
			digits = &list[i]
		}
	}
	if digits == nil || digits.Items != 1797 || digits.Width != 8 || len(digits.ClassNames) != 10 {
		t.Fatalf("digits entry wrong: %+v", digits)
	}

	px := call(t, s, "GET", "/api/datasets/digits/pixels", nil, "")
	if px.status != http.StatusOK || len(px.body) != 1797*64 {
		t.Fatalf("pixels: %d, %d bytes, want %d", px.status, len(px.body), 1797*64)
	}
	req := httptest.NewRequest("GET", "/api/datasets/digits/pixels", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	zr, err := gzip.NewReader(rec.Body)
	if err != nil || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzipped pixels: %v, encoding %q", err, rec.Header().Get("Content-Encoding"))
	}
	if unzipped, err := io.ReadAll(zr); err != nil || !bytes.Equal(unzipped, px.body) {
		t.Fatalf("gzipped pixels differ from plain ones (%v)", err)
	}

	pv := call(t, s, "GET", "/api/datasets/digits/preview.png", nil, "")
	if pv.status != http.StatusOK || pv.header.Get("Content-Type") != "image/png" {
		t.Fatalf("preview: %d %s", pv.status, pv.header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(pv.body))
	if err != nil || img.Bounds().Dx() < previewCols*previewCell {
		t.Fatalf("preview PNG: %v, bounds %v", err, img.Bounds())
	}

	for _, path := range []string{"/api/datasets/nope/pixels", "/api/datasets/nope/preview.png", "/api/nope"} {
		a := call(t, s, "GET", path, nil, "")
		var e errorBody
		a.json(t, &e)
		if a.status != http.StatusNotFound || e.Error == "" {
			t.Errorf("GET %s: %d %s, want 404 with a message", path, a.status, a.body)
		}
	}
}

func TestCreateRunBadConfig(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"epochs zero", map[string]any{"epochs": 0}, "epochs"},
		{"epochs too many", map[string]any{"epochs": 5000}, "epochs"},
		{"unknown loss", map[string]any{"loss": "hinge"}, "loss"},
		{"unknown pairs", map[string]any{"pairs": "friends"}, "pairs"},
		{"negative lr", map[string]any{"lr": -1}, "lr"},
		{"batch too big", map[string]any{"dataset": "digits", "batch": 100000}, "batch"},
		{"batch not a number", map[string]any{"batch": "big"}, "batch"},
		{"dim too small", map[string]any{"dim": 1}, "dim"},
		{"too many hidden layers", map[string]any{"hidden": []int{8, 8, 8, 8, 8}}, "hidden"},
		{"hidden not numbers", map[string]any{"hidden": "wide,deep"}, "hidden"},
		{"temperature for supcon", map[string]any{"loss": "supcon", "temperature": 0.001}, "temperature"},
		{"unknown mining", map[string]any{"loss": "triplet", "mining": "lazy"}, "mining"},
		{"unknown dataset", map[string]any{"dataset": "cifar"}, "dataset"},
		{"unknown projection", map[string]any{"projection": "isomap"}, "projection"},
		{"four dimensions", map[string]any{"dims": 4}, "dims"},
		{"unknown field", map[string]any{"learning_rate": 0.1}, "learning_rate"},
		{"not JSON", "{epochs: 3", ""},
		{"two objects", `{"epochs": 3} {"epochs": 4}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, "POST", "/api/runs", tt.body, "")
			var e errorBody
			a.json(t, &e)
			if a.status != http.StatusBadRequest || e.Field != tt.field || e.Error == "" {
				t.Fatalf("got %d %s, want 400 naming field %q", a.status, a.body, tt.field)
			}
		})
	}

	t.Run("body too large", func(t *testing.T) {
		big := `{"dataset": "` + strings.Repeat("x", 100<<10) + `"}`
		a := call(t, s, "POST", "/api/runs", big, "")
		if a.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d %s, want 413", a.status, a.body)
		}
	})
}

func TestCreateRunDefaults(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, `{"hidden": "64, 32", "epochs": 2}`)
	if c.URL != "/runs/"+c.ID || c.State != run.Running || c.QueuePosition != 0 {
		t.Errorf("summary %+v", c.RunSummary)
	}
	if c.Config.Dataset != "digits" || c.Config.Loss != "supcon" || c.Config.Epochs != 2 ||
		len(c.Config.Hidden) != 2 || c.Config.Hidden[0] != 64 || c.Projection.Method != defaultProjection || c.Projection.Dims != 2 {
		t.Errorf("config %+v projection %+v", c.Config, c.Projection)
	}
	var again RunSummary
	call(t, s, "GET", "/api/runs/"+c.ID, nil, "").json(t, &again)
	if again.ID != c.ID {
		t.Errorf("GET the run: %+v", again)
	}
	// Listing is by session: see TestRunsPrivacy.
}

func TestUnknownRun(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/runs/nope"},
		{"POST", "/api/runs/nope/pause"},
		{"POST", "/api/runs/nope/resume"},
		{"POST", "/api/runs/nope/step"},
		{"POST", "/api/runs/nope/stop"},
		{"POST", "/api/runs/nope/projection"},
		{"GET", "/api/runs/nope/neighbors?item=0"},
		{"GET", "/api/runs/nope/pairs"},
		{"GET", "/ws/runs/nope"},
	} {
		a := call(t, s, r.method, r.path, nil, "some-token")
		var e errorBody
		a.json(t, &e)
		if a.status != http.StatusNotFound || e.Error == "" {
			t.Errorf("%s %s: %d %s, want 404", r.method, r.path, a.status, a.body)
		}
	}
}

func TestControlNeedsToken(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, map[string]any{"epochs": 3})
	for _, action := range []string{"pause", "resume", "step", "stop", "projection"} {
		for _, token := range []string{"", "wrong", c.Token + "x", c.Token[:len(c.Token)-1]} {
			a := call(t, s, "POST", "/api/runs/"+c.ID+"/"+action, `{"method":"tsne"}`, token)
			var e errorBody
			a.json(t, &e)
			if a.status != http.StatusForbidden || e.Error == "" {
				t.Errorf("%s with token %q: %d %s, want 403", action, token, a.status, a.body)
			}
		}
	}
	// The right token under another scheme is refused too.
	req := httptest.NewRequest("POST", "/api/runs/"+c.ID+"/pause", nil)
	req.Header.Set("Authorization", "Basic "+c.Token)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("token under the Basic scheme: %d, want 403", rec.Code)
	}
}

func TestControlAndConflicts(t *testing.T) {
	gate := make(chan struct{})
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors, MaxRuns: 1})
	c := createRun(t, s, map[string]any{"epochs": 2})
	queued := createRun(t, s, map[string]any{"epochs": 2})
	if queued.State != run.Queued || queued.QueuePosition != 1 {
		t.Fatalf("second run with max-runs 1: %s position %d, want queued 1", queued.State, queued.QueuePosition)
	}

	do := func(id, token, action string, want int) RunSummary {
		t.Helper()
		a := call(t, s, "POST", "/api/runs/"+id+"/"+action, nil, token)
		if a.status != want {
			t.Fatalf("%s: %d %s, want %d", action, a.status, a.body, want)
		}
		var sum RunSummary
		if want == http.StatusOK {
			a.json(t, &sum)
		} else {
			var e errorBody
			a.json(t, &e)
			if e.Error == "" {
				t.Fatalf("%s: no error message in %s", action, a.body)
			}
		}
		return sum
	}
	for _, action := range []string{"pause", "resume", "step"} {
		do(queued.ID, queued.Token, action, http.StatusConflict)
	}
	if got := do(c.ID, c.Token, "pause", http.StatusOK); got.State != run.Paused {
		t.Errorf("after pause: %s", got.State)
	}
	if got := do(c.ID, c.Token, "resume", http.StatusOK); got.State != run.Running {
		t.Errorf("after resume: %s", got.State)
	}
	if got := do(c.ID, c.Token, "step", http.StatusOK); got.State != run.Running {
		t.Errorf("after step: %s", got.State)
	}
	if got := do(c.ID, c.Token, "stop", http.StatusOK); got.State != run.Stopped {
		t.Errorf("after stop: %s", got.State)
	}
	for _, action := range []string{"pause", "resume", "step", "stop"} {
		do(c.ID, c.Token, action, http.StatusConflict)
	}
	// The slot went to the queued run.
	waitState(t, s, queued.ID, run.Running)
	if got := do(queued.ID, queued.Token, "stop", http.StatusOK); got.State != run.Stopped {
		t.Errorf("stopping the second run: %s", got.State)
	}
}

func TestStopQueued(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors, MaxRuns: 1})
	createRun(t, s, map[string]any{"epochs": 2})
	second := createRun(t, s, map[string]any{"epochs": 2})
	third := createRun(t, s, map[string]any{"epochs": 2})
	if third.QueuePosition != 2 {
		t.Fatalf("third run at position %d, want 2", third.QueuePosition)
	}
	a := call(t, s, "POST", "/api/runs/"+second.ID+"/stop", nil, second.Token)
	var sum RunSummary
	a.json(t, &sum)
	if a.status != http.StatusOK || sum.State != run.Stopped || sum.QueuePosition != 0 {
		t.Fatalf("stop queued: %d %s", a.status, a.body)
	}
	var after RunSummary
	call(t, s, "GET", "/api/runs/"+third.ID, nil, "").json(t, &after)
	if after.State != run.Queued || after.QueuePosition != 1 {
		t.Fatalf("third run after the second left the queue: %s at %d, want queued at 1", after.State, after.QueuePosition)
	}
}

func TestProjectionEndpoint(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, map[string]any{"epochs": 2})
	for _, tt := range []struct {
		body  string
		field string
	}{
		{`{"method":"isomap"}`, "method"},
		{`{"dims":1}`, "dims"},
		{`{"colour":"red"}`, "colour"},
	} {
		a := call(t, s, "POST", "/api/runs/"+c.ID+"/projection", tt.body, c.Token)
		var e errorBody
		a.json(t, &e)
		if a.status != http.StatusBadRequest || e.Field != tt.field {
			t.Errorf("%s: %d %s, want 400 naming %q", tt.body, a.status, a.body, tt.field)
		}
	}
	a := call(t, s, "POST", "/api/runs/"+c.ID+"/projection", `{"method":"tsne","dims":3}`, c.Token)
	var sum RunSummary
	a.json(t, &sum)
	if a.status != http.StatusOK || sum.Projection != (ProjectionJSON{Method: "tsne", Dims: 3}) {
		t.Fatalf("projection: %d %s", a.status, a.body)
	}
	// A field left out keeps its value.
	call(t, s, "POST", "/api/runs/"+c.ID+"/projection", `{"dims":2}`, c.Token).json(t, &sum)
	if sum.Projection != (ProjectionJSON{Method: "tsne", Dims: 2}) {
		t.Fatalf("projection after dims only: %+v", sum.Projection)
	}
	call(t, s, "POST", "/api/runs/"+c.ID+"/projection", `{"method":"umap"}`, c.Token).json(t, &sum)
	if sum.Projection != (ProjectionJSON{Method: "umap", Dims: 2}) {
		t.Fatalf("projection umap: %+v", sum.Projection)
	}
}

func TestNeighborsAndPairs(t *testing.T) {
	s := newTestServer(t, Options{})
	c := createRun(t, s, quickConfig(2))
	waitState(t, s, c.ID, run.Done)

	base := "/api/runs/" + c.ID + "/neighbors"
	var nb neighborsJSON
	a := call(t, s, "GET", base+"?item=5&k=7&epoch=1", nil, "")
	if a.status != http.StatusOK {
		t.Fatalf("neighbors: %d %s", a.status, a.body)
	}
	a.json(t, &nb)
	if nb.Item != 5 || nb.Epoch != 1 || nb.Metric != "cosine" || len(nb.Embedding) != 7 || len(nb.Input) != 7 ||
		len(nb.Positives) != 7 || len(nb.Negatives) != 7 {
		t.Fatalf("neighbors: %+v", nb)
	}
	for i, n := range nb.Embedding {
		if n.Item == 5 || (i > 0 && n.Distance < nb.Embedding[i-1].Distance) {
			t.Fatalf("embedding neighbours not sorted or include the item: %+v", nb.Embedding)
		}
	}
	for _, p := range nb.Positives {
		if p.Label != nb.Label {
			t.Errorf("positive %+v has another label than %d", p, nb.Label)
		}
	}
	for _, n := range nb.Negatives {
		if n.Label == nb.Label {
			t.Errorf("negative %+v has the item's label %d", n, nb.Label)
		}
	}
	call(t, s, "GET", base+"?item=5&metric=euclidean", nil, "").json(t, &nb)
	if nb.Epoch != 2 || nb.Metric != "euclidean" || len(nb.Embedding) != defaultK {
		t.Fatalf("neighbors with defaults: epoch %d metric %s k %d", nb.Epoch, nb.Metric, len(nb.Embedding))
	}

	for _, tt := range []struct{ query, field string }{
		{"", "item"},
		{"?item=-1", "item"},
		{"?item=1797", "item"},
		{"?item=x", "item"},
		{"?item=1&k=0", "k"},
		{"?item=1&metric=manhattan", "metric"},
		{"?item=1&epoch=-2", "epoch"},
	} {
		a := call(t, s, "GET", base+tt.query, nil, "")
		var e errorBody
		a.json(t, &e)
		if a.status != http.StatusBadRequest || e.Field != tt.field {
			t.Errorf("neighbors%s: %d %s, want 400 naming %q", tt.query, a.status, a.body, tt.field)
		}
	}
	if a := call(t, s, "GET", base+"?item=1&epoch=99", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("neighbors at an untrained epoch: %d %s, want 404", a.status, a.body)
	}

	var pr pairsJSON
	a = call(t, s, "GET", "/api/runs/"+c.ID+"/pairs?n=4", nil, "")
	a.json(t, &pr)
	if a.status != http.StatusOK || len(pr.Pairs) != 4 || pr.Epoch != 2 {
		t.Fatalf("pairs: %d %s", a.status, a.body)
	}
	for _, p := range pr.Pairs {
		if len(p.ViewA) != 64 || len(p.ViewB) != 64 || p.Positive != (p.LabelA == p.LabelB) {
			t.Errorf("pair %d-%d: views %d,%d positive %v labels %d %d", p.A, p.B, len(p.ViewA), len(p.ViewB), p.Positive, p.LabelA, p.LabelB)
		}
	}
	if a := call(t, s, "GET", "/api/runs/"+c.ID+"/pairs?n=1000", nil, ""); a.status != http.StatusBadRequest {
		t.Errorf("pairs n=1000: %d, want 400", a.status)
	}

	// The pairs follow the epoch asked for, and each sample is another
	// group of them, also once the run is over.
	pairsAt := func(query string) pairsJSON {
		t.Helper()
		var pr pairsJSON
		a := call(t, s, "GET", "/api/runs/"+c.ID+"/pairs?"+query, nil, "")
		if a.status != http.StatusOK {
			t.Fatalf("pairs?%s: %d %s", query, a.status, a.body)
		}
		a.json(t, &pr)
		return pr
	}
	key := func(pr pairsJSON) string {
		var sb strings.Builder
		for _, p := range pr.Pairs {
			fmt.Fprintf(&sb, "%d-%d:%.6f ", p.A, p.B, p.Distance)
		}
		return sb.String()
	}
	at0, at2 := pairsAt("n=6&epoch=0"), pairsAt("n=6&epoch=2")
	if at0.Epoch != 0 || at2.Epoch != 2 || len(at0.Pairs) != 6 || key(at0) == key(at2) {
		t.Errorf("pairs of epochs 0 and 2 are the same or missing:\n%s\n%s", key(at0), key(at2))
	}
	again, other := pairsAt("n=6&epoch=2"), pairsAt("n=6&epoch=2&sample=1")
	if key(again) != key(at2) || key(other) == key(at2) || len(other.Pairs) != 6 {
		t.Errorf("sample 1 of epoch 2 repeats sample 0 (or sample 0 changed):\n%s\n%s", key(at2), key(other))
	}
	positives := 0
	for _, p := range other.Pairs {
		if p.Positive {
			positives++
		}
	}
	if positives != 3 {
		t.Errorf("sample 1 has %d positives of 6, want half", positives)
	}
	if a := call(t, s, "GET", "/api/runs/"+c.ID+"/pairs?epoch=99", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("pairs of an untrained epoch: %d, want 404", a.status)
	}
}

func TestPages(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	home := call(t, s, "GET", "/", nil, "")
	if home.status != http.StatusOK || !strings.HasPrefix(home.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", home.status, home.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`data-testid="train-form"`, `data-testid="dataset-card" data-dataset="digits"`,
		`src="/api/datasets/digits/preview.png"`, `data-testid="loss-option" data-value="supcon"`,
		`data-testid="pairs-option" data-value="augment"`, `data-testid="field-epochs"`, `min="1"`, `max="1000"`,
		`data-testid="error-epochs"`, `data-testid="train-button"`, `/static/home.js`,
	} {
		if !strings.Contains(string(home.body), want) {
			t.Errorf("home page lacks %s", want)
		}
	}

	c := createRun(t, s, map[string]any{"epochs": 2})
	page := call(t, s, "GET", "/runs/"+c.ID, nil, "")
	if page.status != http.StatusOK {
		t.Fatalf("GET run page: %d", page.status)
	}
	for _, want := range []string{
		`data-run-id="` + c.ID + `"`, `data-ws-url="/ws/runs/` + c.ID + `"`, `data-testid="scatter"`,
		`data-testid="epoch-counter"`, `data-testid="control-pause"`, `data-testid="legend"`, `data-testid="tooltip"`,
		`data-testid="pair-panel"`, `data-testid="timeline"`, `data-testid="queue-position"`, `data-testid="chart-loss"`,
		`/static/run.js`,
	} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("run page lacks %s", want)
		}
	}

	missing := call(t, s, "GET", "/runs/nope", nil, "")
	if missing.status != http.StatusNotFound || !strings.Contains(string(missing.body), `data-testid="not-found"`) {
		t.Errorf("unknown run page: %d %s", missing.status, missing.body)
	}

	if a := call(t, s, "GET", "/static/run.js", nil, ""); a.status != http.StatusOK || len(a.body) == 0 {
		t.Errorf("GET /static/run.js: %d", a.status)
	}
}

func TestUnknownPageIsHTML(t *testing.T) {
	s := newTestServer(t, Options{})
	req := httptest.NewRequest("GET", "/nowhere", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `data-testid="not-found"`) {
		t.Fatalf("GET /nowhere from a browser: %d %s", rec.Code, rec.Body)
	}
}

// brokenCatalog lists a dataset it cannot load, as a corrupt build would.
type brokenCatalog struct{}

func (brokenCatalog) List() []dataset.Info {
	return []dataset.Info{{Name: "broken", Title: "Broken"}}
}
func (brokenCatalog) Load(string) (*dataset.Dataset, error) {
	return nil, errors.New("sampledata: broken/data.bin.gz: unexpected EOF")
}

// TestInternalError checks that an unexpected error answers 500 with a
// generic message, and is logged once with its details.
func TestInternalError(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Options{Catalog: brokenCatalog{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	a := call(t, s, "GET", "/api/datasets", nil, "")
	var e errorBody
	a.json(t, &e)
	if a.status != http.StatusInternalServerError || e.Error != "internal server error" || strings.Contains(string(a.body), "EOF") {
		t.Fatalf("got %d %s, want 500 with a generic message", a.status, a.body)
	}
	if n := strings.Count(logs.String(), "unexpected EOF"); n != 1 {
		t.Fatalf("the error was logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestSparseDatasets runs on the text and interaction datasets, whose
// inputs are sparse: neighbours in input space, no pixels, texts in hello.
func TestSparseDatasets(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	for _, info := range s.datasets.Catalog().List() {
		d, err := s.datasets.Catalog().Load(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Sparse == nil {
			continue
		}
		t.Run(info.Name, func(t *testing.T) {
			c := createRun(t, s, map[string]any{"dataset": info.Name, "epochs": 1, "dim": 4, "batch": 64, "pairs": trainer.DefaultPairs(d)})
			waitState(t, s, c.ID, run.Done)
			var nb neighborsJSON
			a := call(t, s, "GET", "/api/runs/"+c.ID+"/neighbors?item=3&k=5&metric=euclidean", nil, "")
			a.json(t, &nb)
			if a.status != http.StatusOK || len(nb.Input) != 5 || len(nb.Embedding) != 5 {
				t.Fatalf("neighbors: %d %s", a.status, a.body)
			}
			for i, n := range nb.Input {
				if n.Item == 3 || math.IsNaN(n.Distance) || (i > 0 && n.Distance < nb.Input[i-1].Distance) {
					t.Fatalf("input neighbours %+v", nb.Input)
				}
			}
			if a := call(t, s, "GET", "/api/datasets/"+info.Name+"/pixels", nil, ""); a.status != http.StatusNotFound {
				t.Errorf("pixels of %s: %d, want 404", info.Name, a.status)
			}
			r, _ := s.runs.Get(context.Background(), c.ID)
			raw, err := s.hellos.get(r, r.Dataset(), false)
			if err != nil {
				t.Fatal(err)
			}
			var h datasetHello
			if err := json.Unmarshal(raw, &h); err != nil || h.PixelsURL != "" || (len(h.Texts) != d.Len() && len(h.Names) != d.Len()) {
				t.Errorf("hello dataset of %s: %v, pixels %q, %d texts, %d names", info.Name, err, h.PixelsURL, len(h.Texts), len(h.Names))
			}
		})
	}
}

// TestCreateRunDatasetDefaults: what a request leaves out comes from its
// dataset's defaults (trainer.DefaultConfigFor), as on the home page and in
// the CLI; what it gives wins.
func TestCreateRunDatasetDefaults(t *testing.T) {
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	for _, tc := range []struct {
		body map[string]any
		want map[string]any
	}{
		{map[string]any{"dataset": "interactions"}, map[string]any{"pairs": "cooccur", "temperature": 0.1, "epochs": 5.0, "schedule": "cosine"}},
		{map[string]any{"dataset": "wordnet"}, map[string]any{"lr": 0.003, "schedule": "cosine", "epochs": 20.0}},
		{map[string]any{"dataset": "interactions", "epochs": 2, "temperature": 0.5}, map[string]any{"epochs": 2.0, "temperature": 0.5}},
		{map[string]any{}, map[string]any{"dataset": "digits", "pairs": "labels", "schedule": "cosine"}},
	} {
		a := call(t, ts, "POST", "/api/runs", tc.body, "")
		if a.status != http.StatusCreated {
			t.Fatalf("POST %v: %d %s", tc.body, a.status, a.body)
		}
		var got struct{ Config map[string]any }
		a.json(t, &got)
		for k, v := range tc.want {
			if got.Config[k] != v {
				t.Errorf("POST %v: %s = %v, want %v", tc.body, k, got.Config[k], v)
			}
		}
	}
}

// TestFormDefaultsCoverDefaultedFields: the home page's defaults set, for
// every pair source a dataset can make, every field trainer.DefaultedFields
// names (the pair source itself once, for the dataset).
func TestFormDefaultsCoverDefaultedFields(t *testing.T) {
	d, err := sampledata.Load("digits")
	if err != nil {
		t.Fatal(err)
	}
	unusable := trainer.UnusablePairs(d)
	fd := formDefaults(d, unusable)
	by := fd["by_pairs"].(map[string]map[string]string)
	if fd["pairs"] != trainer.PairsLabels || len(by)+len(unusable) != len(trainer.PairModes) {
		t.Fatalf("defaults %v, unusable %v", fd, unusable)
	}
	for p, values := range by {
		for _, f := range trainer.DefaultedFields {
			if _, ok := values[f]; !ok && f != "pairs" {
				t.Errorf("%s: no %s in %v", p, f, values)
			}
		}
	}
}
