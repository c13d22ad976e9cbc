package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// testServer is a Server behind a real listener, stopped at the end of the
// test the way serve stops it: context cancelled, then Wait.
type testServer struct {
	*Server
	URL    string
	cancel context.CancelFunc
}

func newTestServer(t *testing.T, o Options) *testServer {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionKey == nil {
		o.SessionKey = testSessionKey
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		hs.Close()
		done := make(chan struct{})
		go func() { s.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server goroutines still running 20 s after shutdown")
		}
	})
	return &testServer{Server: s, URL: hs.URL, cancel: cancel}
}

// quickConfig is a run that trains digits in well under a second.
func quickConfig(epochs int) map[string]any {
	return map[string]any{
		"dataset": "digits", "epochs": epochs, "batch": 128, "hidden": []int{32}, "dim": 8, "lr": 0.01,
	}
}

// answer is a decoded API response.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

// call sends one request to h (the real echo instance) without a network.
func call(t *testing.T, h http.Handler, method, path string, body any, token string) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// created is the answer to POST /api/runs.
type created struct {
	RunSummary
	Token string `json:"token"`
}

func createRun(t *testing.T, h http.Handler, cfg any) created {
	t.Helper()
	a := call(t, h, "POST", "/api/runs", cfg, "")
	if a.status != http.StatusCreated {
		t.Fatalf("POST /api/runs: %d %s", a.status, a.body)
	}
	var c created
	a.json(t, &c)
	if c.ID == "" || c.Token == "" {
		t.Fatalf("POST /api/runs: no id or token in %s", a.body)
	}
	return c
}

// waitState polls the run's summary until its state is want. The deadline
// is generous: training a real dataset under the race detector on a busy
// machine takes tens of seconds.
func waitState(t *testing.T, h http.Handler, id string, want run.State) RunSummary {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var s RunSummary
		call(t, h, "GET", "/api/runs/"+id, nil, "").json(t, &s)
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want %s", id, s.State, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
