package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// restartable serves on one store and uploads folder, and can stop and
// start again on them as a restarted process would.
type restartable struct {
	t      *testing.T
	store  run.Store
	dir    string
	srv    *Server
	ts     *testServer
	cancel context.CancelFunc
}

func (r *restartable) start() *testServer {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Options{
		Store: r.store, DataDir: r.dir, SessionKey: testSessionKey, Logger: slog.New(slog.DiscardHandler),
		NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors,
	})
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	r.srv, r.cancel = s, cancel
	r.ts = &testServer{Server: s, URL: hs.URL, cancel: cancel}
	r.t.Cleanup(func() { cancel(); hs.Close(); s.Wait() })
	return r.ts
}

func (r *restartable) stop() {
	r.cancel()
	r.srv.Wait()
}

// TestUploadsAndRunsSurviveRestart checks that a restart keeps a session's
// uploads and runs: the upload is listed and trains again, the finished
// run streams the same history, and what an interrupted upload left on
// disk is removed.
func TestUploadsAndRunsSurviveRestart(t *testing.T) {
	r := &restartable{t: t, store: memory.New(), dir: t.TempDir()}
	s := r.start()
	d := mustUpload(t, s, sessionA, filePart("points.csv", csvRows(40)))
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 2, "batch": 8, "dim": 4})
	waitState(t, s, c.ID, run.Done)
	before, _ := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
	r.stop()
	stray := filepath.Join(r.dir, "upload-123.part")
	if err := os.WriteFile(stray, []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}

	s = r.start()
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("a spool file of an interrupted upload is still there: %v", err)
	}
	if ups := uploadsOf(listDatasets(t, s, sessionA)); len(ups) != 1 || ups[0].ID != d.ID || ups[0].Items != d.Items {
		t.Fatalf("uploads after the restart: %+v", ups)
	}
	var runs []runEntryJSON
	if err := json.Unmarshal(callAs(t, s, sessionA, "GET", "/api/runs", nil, "").body, &runs); err != nil ||
		len(runs) != 1 || runs[0].ID != c.ID || runs[0].State != run.Done {
		t.Fatalf("runs after the restart: %+v %v", runs, err)
	}
	after, _ := readToEnd(t, dial(t, s, c.ID, dialOptions{}))
	if len(after) != len(before) {
		t.Fatalf("%d messages after the restart, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].Type == "epoch" && (after[i].Epoch != before[i].Epoch || !slices.Equal(after[i].coords, before[i].coords) || after[i].SentMS != before[i].SentMS) {
			t.Errorf("message %d differs after the restart", i)
		}
	}
	again := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 1, "batch": 8, "dim": 4})
	waitState(t, s, again.ID, run.Done)

	// Deleting the upload deletes the runs on it and its files.
	if a := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+d.ID, nil, ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if _, err := os.Stat(filepath.Join(r.dir, d.ID)); !os.IsNotExist(err) {
		t.Errorf("the upload's folder is still there: %v", err)
	}
	if a := call(t, s, "GET", "/api/runs/"+c.ID, nil, ""); a.status != http.StatusNotFound {
		t.Errorf("a run on the deleted upload: %d", a.status)
	}
}
