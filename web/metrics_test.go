package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// metric returns the value of the sample named name (with its labels) in
// a Prometheus text exposition, failing the test when it is absent.
func metric(t *testing.T, text, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s in /metrics:\n%s", name, text)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetrics: /metrics counts the open view, the run's slot while it
// trains, every frame written, and the live ones' delivery times in a
// cumulative histogram whose count is its +Inf bucket.
func TestMetrics(t *testing.T) {
	ts := newTestServer(t, Options{})
	c := createRun(t, ts.Server, quickConfig(40))
	conn := dial(t, ts, c.ID, dialOptions{})
	_, text := getText(t, ts.URL+"/metrics")
	if v := metric(t, text, "explorer_viewers"); v != 1 {
		t.Errorf("explorer_viewers %v with one view open", v)
	}
	if v := metric(t, text, "explorer_run_slots"); v < 1 {
		t.Errorf("explorer_run_slots %v", v)
	}
	frames := 0
	for {
		m, _, ok := next(t, conn)
		if !ok {
			break
		}
		if m.Type == "epoch" {
			frames++
		}
	}
	waitState(t, ts.Server, c.ID, run.Done)
	code, text := getText(t, ts.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	if v := metric(t, text, "explorer_frames_sent_total"); int(v) != frames {
		t.Errorf("explorer_frames_sent_total %v, the viewer read %d frames", v, frames)
	}
	count := metric(t, text, "explorer_frame_delivery_seconds_count")
	if count < 1 || count > float64(frames) {
		t.Errorf("%v live frames in the delivery histogram, of %d frames", count, frames)
	}
	if inf := metric(t, text, `explorer_frame_delivery_seconds_bucket{le="+Inf"}`); inf != count {
		t.Errorf("+Inf bucket %v, count %v", inf, count)
	}
	prev := 0.0
	for _, le := range deliveryBuckets {
		v := metric(t, text, `explorer_frame_delivery_seconds_bucket{le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"}`)
		if v < prev {
			t.Errorf("bucket le=%v holds %v, fewer than the one below (%v)", le, v, prev)
		}
		prev = v
	}
	if metric(t, text, "explorer_frame_delivery_seconds_sum") <= 0 {
		t.Error("the delivery times sum to nothing")
	}
	if v := metric(t, text, "explorer_run_slots_busy"); v != 0 {
		t.Errorf("explorer_run_slots_busy %v after the run ended", v)
	}
	if !strings.Contains(text, "# TYPE explorer_frame_delivery_seconds histogram") {
		t.Error("the histogram's TYPE line is missing")
	}
}

// flakyStore is a store whose listing fails while down is set.
type flakyStore struct {
	run.Store
	down atomic.Bool
}

func (s *flakyStore) Runs(ctx context.Context, f run.RunFilter) ([]run.Listing, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.Runs(ctx, f)
}

// TestReadyz: ready while the store answers, 503 saying so while it does
// not, and ready again after; /healthz stays ok throughout.
func TestReadyz(t *testing.T) {
	st := &flakyStore{Store: memory.New()}
	ts := newTestServer(t, Options{Store: st})
	if code, body := getText(t, ts.URL+"/readyz"); code != http.StatusOK || body != "ready" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	st.down.Store(true)
	if code, body := getText(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz with the store down: %d %q", code, body)
	}
	if code, _ := getText(t, ts.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with the store down: %d", code)
	}
	st.down.Store(false)
	if code, _ := getText(t, ts.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the store came back: %d", code)
	}
}

// TestMetricsRunsTraining: explorer_runs_training counts the run while it
// trains here, and not after.
func TestMetricsRunsTraining(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts.Server, quickConfig(3))
	waitState(t, ts.Server, c.ID, run.Running)
	if _, text := getText(t, ts.URL+"/metrics"); metric(t, text, "explorer_runs_training") != 1 {
		t.Errorf("explorer_runs_training while the run trains:\n%s", text)
	}
	close(gate)
	waitState(t, ts.Server, c.ID, run.Done)
	if _, text := getText(t, ts.URL+"/metrics"); metric(t, text, "explorer_runs_training") != 0 {
		t.Errorf("explorer_runs_training after the run ended:\n%s", text)
	}
}
