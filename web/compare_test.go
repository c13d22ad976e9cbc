package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/trainer"
)

// TestComparePage checks /compare/{a}/{b}: the page names both runs by
// what sets them apart and wires their ids, and a comparison that cannot
// be made (an unknown run, a run with itself, runs on different datasets)
// gets a page that says why, with a 404 or 400. The second run's stream
// may start from the first's layout (?init=): only with a projection, from
// another run on the same dataset.
func TestComparePage(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	a := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "loss": "supcon", "epochs": 2})
	b := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "loss": "triplet", "epochs": 2})
	d := mustUpload(t, s, sessionA, filePart("points.csv", csvRows(40)))
	u := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 2, "batch": 8, "dim": 4})

	page := callAs(t, s, sessionB, "GET", "/compare/"+a.ID+"/"+b.ID, nil, "")
	html := string(page.body)
	if page.status != http.StatusOK || !strings.Contains(html, `data-a="`+a.ID+`"`) || !strings.Contains(html, `data-b="`+b.ID+`"`) ||
		!strings.Contains(html, "supcon · labels vs triplet · labels") || !strings.Contains(html, `href="/compare/`+b.ID+"/"+a.ID+`"`) {
		t.Fatalf("the comparison page: %d\n%.600s", page.status, html)
	}
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/compare/" + a.ID + "/nope", http.StatusNotFound, "no run"},
		{"/compare/" + a.ID + "/" + a.ID, http.StatusBadRequest, "compared with itself"},
		{"/compare/" + a.ID + "/" + u.ID, http.StatusBadRequest, "different datasets"},
	} {
		p := callAs(t, s, sessionA, "GET", tc.path, nil, "")
		if p.status != tc.status || !strings.Contains(strings.ToLower(string(p.body)), strings.ToLower(tc.says)) {
			t.Errorf("%s: %d, want %d saying %q", tc.path, p.status, tc.status, tc.says)
		}
	}

	for _, tc := range []struct {
		q      string
		status int
	}{
		{"?init=" + a.ID, http.StatusBadRequest},
		{"?method=pca&dims=2&init=" + b.ID, http.StatusBadRequest},
		{"?method=pca&dims=2&init=" + u.ID, http.StatusBadRequest},
		{"?method=pca&dims=2&init=..%2Fx", http.StatusBadRequest},
		{"?method=pca&dims=2&init=nope", http.StatusNotFound},
	} {
		if r := call(t, s, "GET", "/ws/runs/"+b.ID+tc.q, nil, ""); r.status != tc.status {
			t.Errorf("/ws/runs/B%s: %d %s, want %d", tc.q, r.status, r.body, tc.status)
		}
	}
}

// TestCompareLabels: two runs are named by loss and pairs and then by the
// settings that differ; a loss's own settings only between runs of it.
func TestCompareLabels(t *testing.T) {
	x, y := trainer.DefaultConfig(), trainer.DefaultConfig()
	x.Loss, x.Pairs, x.Temperature = "supcon", "labels", 0.1
	y.Loss, y.Pairs, y.Temperature = "supcon", "labels", 0.5
	if la, lb := compareLabels(x, y); la != "supcon · labels · temperature 0.1" || lb != "supcon · labels · temperature 0.5" {
		t.Errorf("same loss: %q, %q", la, lb)
	}
	y.Loss, y.Margin, y.LR = "triplet", 0.2, x.LR*2
	la, lb := compareLabels(x, y)
	if strings.Contains(la, "temperature") || strings.Contains(lb, "margin") || !strings.Contains(lb, "triplet · labels · lr") {
		t.Errorf("other losses: %q, %q", la, lb)
	}
}
