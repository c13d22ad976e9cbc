package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/gif"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/export"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// TestExports checks GET /api/runs/{id}/export for every format through
// echo: the type, a file name to save as, content that decodes, progress
// of the animation, refusals with a message, and that another session's
// export of a run on an upload never names the upload. The run is really
// trained, so that its encoder's export embeds the upload's items as its
// last epoch did.
func TestExports(t *testing.T) {
	s := newTestServer(t, Options{NewProjector: runnertest.ColumnProjectors})
	const epochs = 3
	d := mustUpload(t, s, sessionA, filePart("points.csv", csvRows(40)))
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": epochs, "batch": 8, "dim": 4})
	waitState(t, s, c.ID, run.Done)
	get := func(sess, q string) answer {
		t.Helper()
		return callAs(t, s, sess, "GET", "/api/runs/"+c.ID+"/export?"+q, nil, "")
	}
	for _, f := range export.Formats {
		for _, sess := range []string{sessionA, sessionB} {
			a := get(sess, "format="+f.Name+"&progress=k-"+f.Name)
			if a.status != http.StatusOK || a.header.Get("Content-Type") != f.ContentType {
				t.Fatalf("%s as %s: %d %s %.200s", f.Name, sess, a.status, a.header.Get("Content-Type"), a.body)
			}
			if cd := a.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, c.ID) || !strings.Contains(cd, f.Name) {
				t.Errorf("%s: Content-Disposition %q", f.Name, cd)
			}
			if sess == sessionB && bytes.Contains(a.body, []byte(d.ID)) {
				t.Errorf("%s shows another session the upload's id", f.Name)
			}
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(get(sessionA, "format=coords.csv").body)).ReadAll()
	if err != nil || len(rows) != 1+(epochs+1)*40 {
		t.Errorf("coords.csv: %d rows (%v), want %d", len(rows), err, 1+(epochs+1)*40)
	}
	g, err := gif.DecodeAll(bytes.NewReader(get(sessionA, "format=animation.gif").body))
	if err != nil || len(g.Image) != export.AnimationFrames(epochs+1, export.AnimationOptions{}) {
		t.Errorf("animation.gif: %v, %d frames", err, len(g.Image))
	}
	if _, err := png.Decode(bytes.NewReader(get(sessionB, "format=scatter.png&epoch=1").body)); err != nil {
		t.Errorf("scatter.png of epoch 1: %v", err)
	}
	model, err := trainer.ReadModel(bytes.NewReader(get(sessionB, "format=model.safetensors").body))
	if err != nil {
		t.Fatalf("model.safetensors: %v", err)
	}
	if model.Epoch != epochs || model.Featurizer.Dataset != uploadedDataset || model.Config.Dataset != uploadedDataset {
		t.Errorf("model.safetensors: %s, dataset %q", model.Summary(), model.Config.Dataset)
	}
	items, err := dataset.Parse("points.csv", strings.NewReader(csvRows(40)), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := model.Embed(items)
	if err != nil {
		t.Fatal(err)
	}
	stored, n, dim, err := projection.ReadVectors(bytes.NewReader(get(sessionA, "format=vectors.tsv").body))
	if err != nil || n != 40 || dim != model.OutDim() || !slices.Equal(emb, stored) {
		t.Errorf("the exported encoder embeds the items as %v, the last epoch has %v (%v)", emb[:4], stored[:min(4, len(stored))], err)
	}
	var p exportProgressJSON
	if err := json.Unmarshal(callAs(t, s, sessionA, "GET", "/api/runs/"+c.ID+"/export/progress?key=k-animation.gif", nil, "").body, &p); err != nil || p.Total == 0 || p.Done != p.Total {
		t.Errorf("progress after the animation: %+v %v", p, err)
	}
	var m struct{ Config run.Config }
	if err := json.Unmarshal(get(sessionB, "format=metrics.json").body, &m); err != nil || m.Config.Dataset != uploadedDataset {
		t.Errorf("metrics.json as another session names the dataset %q (%v)", m.Config.Dataset, err)
	}

	for _, tc := range []struct {
		q      string
		status int
		says   string
	}{
		{"format=movie.mp4", http.StatusBadRequest, "unknown export"},
		{"", http.StatusBadRequest, "unknown export"},
		{"format=scatter.png&epoch=99", http.StatusNotFound, "not been trained"},
		{"format=scatter.png&epoch=x", http.StatusBadRequest, "whole number"},
		{"format=coords.csv&progress=" + strings.Repeat("k", 65), http.StatusBadRequest, "64"},
	} {
		if a := get(sessionA, tc.q); a.status != tc.status || !strings.Contains(string(a.body), tc.says) {
			t.Errorf("?%s: %d %s, want %d saying %q", tc.q, a.status, a.body, tc.status, tc.says)
		}
	}
	if a := callAs(t, s, sessionA, "GET", "/api/runs/nope/export?format=coords.csv", nil, ""); a.status != http.StatusNotFound {
		t.Errorf("an unknown run: %d", a.status)
	}
}
