package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// FuzzCreateRun posts arbitrary bodies to POST /api/runs: the answer is
// always 201 or a 4xx with a JSON error, never a 500 or a panic.
func FuzzCreateRun(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"epochs": 2}`, `{"hidden": "64,32"}`, `{"hidden": [1,2,3,4,5]}`, `{"lr": 1e309}`,
		`{"loss": "triplet", "mining": "hard", "margin": 0.5}`, `{"dataset": "fashion", "batch": 1}`,
		`{"dims": 3, "projection": "tsne"}`, `[1,2]`, `null`, `{"seed": -1}`, `{"epochs": 1.5}`,
	} {
		f.Add(seed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Options{SessionKey: testSessionKey,
		Logger: slog.New(slog.DiscardHandler), NewTrainer: runnertest.Trainers(make(chan struct{})),
		NewProjector: runnertest.ColumnProjectors, MaxRuns: 1,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/runs", strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("%q: %d without a JSON error: %s", body, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
	cancel()
	s.Wait()
}

// fuzzBoundary separates the parts of FuzzUpload's bodies (and of its seed
// corpus in testdata/fuzz/FuzzUpload).
const fuzzBoundary = "fuzzboundary"

// FuzzUpload posts arbitrary multipart bodies to POST /api/datasets: the
// answer is always 201 with a dataset of at least 10 items, or a 4xx with
// a JSON error; never a 500 or a panic. Accepted uploads are deleted again
// so the session's quota never fills. The seed corpus, in
// testdata/fuzz/FuzzUpload, holds one body per format and some bad ones.
func FuzzUpload(f *testing.F) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Options{SessionKey: testSessionKey,
		Logger: slog.New(slog.DiscardHandler), NewTrainer: runnertest.Trainers(make(chan struct{})),
		NewProjector: runnertest.ColumnProjectors, MaxRuns: 1, DataDir: f.TempDir(),
		Limits: dataset.Limits{MaxBytes: 1 << 20, MaxItems: 2000, MaxTotalBytes: 8 << 20, MaxEntryBytes: 1 << 20},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := callAs(t, s, sessionA, "POST", "/api/datasets", body, "multipart/form-data; boundary="+fuzzBoundary)
		switch {
		case a.status == http.StatusCreated:
			var d datasetJSON
			if err := json.Unmarshal(a.body, &d); err != nil || d.Items < dataset.MinItems || d.ID == "" {
				t.Fatalf("201 with %s: %v", a.body, err)
			}
			if del := callAs(t, s, sessionA, "DELETE", "/api/datasets/"+d.ID, nil, ""); del.status != http.StatusNoContent {
				t.Fatalf("deleting %s: %d", d.ID, del.status)
			}
		case a.status >= 400 && a.status < 500:
			var e errorBody
			if err := json.Unmarshal(a.body, &e); err != nil || e.Error == "" {
				t.Fatalf("%d without a JSON error: %s", a.status, a.body)
			}
		default:
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	})
	cancel()
	s.Wait()
}
