package web

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// TestRunsPage checks the runs page of two sessions and the thumbnails.
func TestRunsPage(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "epochs": 2, "batch": 64, "dim": 4})
	waitState(t, s, c.ID, run.Done)
	// Done comes before the last epoch's frame is stored: the stream's end
	// says every frame is.
	readToEnd(t, dial(t, s, c.ID, dialOptions{}))
	req := call(t, s, "PATCH", "/api/runs/"+c.ID, `{"name":"<b>my first</b> run"}`, c.Token)
	if req.status != http.StatusOK {
		t.Fatalf("rename: %d %s", req.status, req.body)
	}

	a := callAs(t, s, sessionA, "GET", "/runs", nil, "")
	page := string(a.body)
	if a.status != http.StatusOK || !strings.Contains(page, `data-run-id="`+c.ID+`"`) || !strings.Contains(page, "Handwritten") {
		t.Fatalf("A's runs page: %d\n%s", a.status, page)
	}
	if strings.Contains(page, "<b>my first</b>") || !strings.Contains(page, "&lt;b&gt;my first&lt;/b&gt; run") {
		t.Error("the run's name is not escaped")
	}
	if !strings.Contains(page, `data-testid="run-delete"`) {
		t.Error("the owner gets no delete button")
	}
	if other := string(callAs(t, s, sessionB, "GET", "/runs", nil, "").body); strings.Contains(other, c.ID) || !strings.Contains(other, `data-testid="runs-empty"`) {
		t.Error("another session's runs page lists the run")
	}

	th := call(t, s, "GET", "/api/runs/"+c.ID+"/thumbnail.png", nil, "")
	img, err := png.Decode(bytes.NewReader(th.body))
	if th.status != http.StatusOK || err != nil {
		t.Fatalf("thumbnail: %d %v", th.status, err)
	}
	painted := 0
	for y := range thumbnailSide {
		for x := range thumbnailSide {
			if _, _, _, alpha := img.At(x, y).RGBA(); alpha != 0 {
				painted++
			}
		}
	}
	if painted < 50 {
		t.Errorf("the thumbnail of 1,797 points has %d painted pixels", painted)
	}
	if a := call(t, s, "PATCH", "/api/runs/"+c.ID, `{"name":"x"}`, "wrong"); a.status != http.StatusForbidden {
		t.Errorf("rename without the token: %d", a.status)
	}
	long := `{"name":"` + strings.Repeat("x", 101) + `"}`
	if a := call(t, s, "PATCH", "/api/runs/"+c.ID, long, c.Token); a.status != http.StatusBadRequest {
		t.Errorf("a 101-character name: %d", a.status)
	}
	for _, bad := range []string{`a\u0000b`, `two\nlines`, `tab\there`} {
		if a := call(t, s, "PATCH", "/api/runs/"+c.ID, `{"name":"`+bad+`"}`, c.Token); a.status != http.StatusBadRequest {
			t.Errorf("the name %s: %d, want 400", bad, a.status)
		}
	}
}

// TestRunsPageDatasetOfShared: the runs page tells its script which runs
// share a dataset, for comparing, but never the id of another session's
// upload: a shared run on it carries a digest that matches the same
// upload's and names none.
func TestRunsPageDatasetOfShared(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	d := mustUpload(t, s, sessionA, filePart("points.csv", csvRows(40)))
	var ids []string
	for range 2 {
		c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 1, "batch": 8, "dim": 4})
		ids = append(ids, c.ID)
		if a := callAs(t, s, sessionB, "GET", "/runs/"+c.ID, nil, ""); a.status != http.StatusOK {
			t.Fatalf("B opens the run's link: %d", a.status)
		}
	}
	own := string(callAs(t, s, sessionA, "GET", "/runs", nil, "").body)
	if !strings.Contains(own, `data-dataset="`+d.ID+`"`) {
		t.Error("the owner's runs page does not give the upload's id")
	}
	other := string(callAs(t, s, sessionB, "GET", "/runs", nil, "").body)
	if strings.Contains(other, d.ID) {
		t.Error("another session's runs page names the upload's id")
	}
	digest := comparableDataset(d.ID, sessionB, sessionA)
	if strings.Count(other, `data-dataset="`+digest+`"`) != 2 {
		t.Errorf("the two shared runs on one upload do not carry the same digest %s", digest)
	}
}
