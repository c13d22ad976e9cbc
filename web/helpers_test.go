package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
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
	ctx, cancel := context.WithCancel(context.Background())
	s := New(ctx, o)
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
func waitState(t *testing.T, h http.Handler, id string, want State) RunSummary {
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

// fakeTrainer publishes random embeddings as fast as it is allowed to: with
// a gate, each epoch after 0 waits for a value from it.
type fakeTrainer struct {
	cfg  trainer.Config
	n    int
	gate chan struct{}

	mu   sync.Mutex
	subs []chan trainer.Epoch
}

// fakeTrainers returns a TrainerFactory of fake trainers sharing gate (nil
// for none), and validating configs like the real one.
func fakeTrainers(gate chan struct{}) TrainerFactory {
	return func(cfg trainer.Config, d *dataset.Dataset) (Trainer, error) {
		if err := cfg.Validate(d); err != nil {
			return nil, err
		}
		return &fakeTrainer{cfg: cfg, n: d.Len(), gate: gate}, nil
	}
}

func (f *fakeTrainer) Subscribe(buffer int) (<-chan trainer.Epoch, func()) {
	ch := make(chan trainer.Epoch, buffer)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}

func (f *fakeTrainer) Run(ctx context.Context) error {
	defer func() {
		f.mu.Lock()
		for _, ch := range f.subs {
			close(ch)
		}
		f.mu.Unlock()
	}()
	rng := rand.New(rand.NewPCG(f.cfg.Seed, 7))
	for e := 0; e <= f.cfg.Epochs; e++ {
		if e > 0 && f.gate != nil {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		emb := make([]float32, f.n*f.cfg.Dim)
		for i := range emb {
			emb[i] = float32(rng.NormFloat64())
		}
		ep := trainer.Epoch{Epoch: e, Metrics: trainer.Metrics{Loss: 1 / float64(e+1)}, Embeddings: emb, Dim: f.cfg.Dim}
		f.mu.Lock()
		for _, ch := range f.subs {
			ch <- ep // buffered for every epoch by the run
		}
		f.mu.Unlock()
	}
	return nil
}

func (f *fakeTrainer) Pause()                                   {}
func (f *fakeTrainer) Resume()                                  {}
func (f *fakeTrainer) Step()                                    {}
func (f *fakeTrainer) ExamplePairs(n int) []trainer.PairExample { return nil }
func (f *fakeTrainer) Config() trainer.Config                   { return f.cfg }

// columnProjector projects by taking the first dims embedding columns:
// free, for tests about streaming rather than pictures.
type columnProjector struct {
	method string
	dims   int
}

func columnProjectors(method string, dims int, seed uint64) (Projector, error) {
	return &columnProjector{method: method, dims: dims}, nil
}

func (p *columnProjector) Project(ctx context.Context, x []float32, n, d int) (Projected, error) {
	coords := make([]float32, n*p.dims)
	for i := range n {
		copy(coords[i*p.dims:(i+1)*p.dims], x[i*d:i*d+min(d, p.dims)])
	}
	return Projected{Coords: coords, Dims: p.dims, Method: p.method}, nil
}

func (p *columnProjector) SetMethod(method string) error { p.method = method; return nil }

// slowProjector is a columnProjector that takes delay per frame, so
// training outruns projection.
type slowProjector struct {
	columnProjector
	delay time.Duration
}

func slowProjectors(delay time.Duration) ProjectorFactory {
	return func(method string, dims int, seed uint64) (Projector, error) {
		return &slowProjector{columnProjector{method: method, dims: dims}, delay}, nil
	}
}

func (p *slowProjector) Project(ctx context.Context, x []float32, n, d int) (Projected, error) {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return Projected{}, ctx.Err()
	}
	return p.columnProjector.Project(ctx, x, n, d)
}
