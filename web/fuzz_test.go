package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
	s := New(ctx, Options{
		Logger: slog.New(slog.DiscardHandler), NewTrainer: fakeTrainers(make(chan struct{})),
		NewProjector: columnProjectors, MaxRuns: 1,
	})
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
