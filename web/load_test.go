//go:build load

package web

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
)

// The classroom load test (docs/benchmarks.md, "Viewers at scale"): one
// Fashion-MNIST run (12,000 points, t-SNE 2D) watched by 300 viewers, 10
// more stalled (connected, never reading), against the same run watched by
// one. It is behind the load build tag (about three minutes on 2 cores):
//
//	go test -tags load -run TestLoadViewers -v ./web/
//
// Targets (issue): p99 of epoch delivery (from the server's publication,
// sent_ms, to the viewer's receipt of the epoch's binary frame) under
// 100 ms on loopback, and the training epoch time within 10% of the run
// with one viewer. The two kinds of run alternate, A B A B, and the load
// average is printed beside each figure.

const (
	loadViewers = 300
	loadStalled = 10
	loadEpochs  = 12
	loadRounds  = 3
)

// loadViewer is one websocket viewer's record of the live epochs it got.
type loadViewer struct {
	latencies []time.Duration // epochs published after the viewer joined
	epochs    map[int]bool
	err       error
}

// watchLive reads a run's stream to the end, timing each epoch frame
// published after its history (live and backfill).
func watchLive(ctx context.Context, url string, v *loadViewer) {
	v.epochs = make(map[int]bool)
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		v.err = err
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	live := false
	sent := map[int]int64{}
	// Read as a browser far away would cost this machine nothing: each
	// message into one reused buffer, not a new one per frame.
	buf := make([]byte, 128<<10)
	for {
		typ, r, err := conn.Reader(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				v.err = err
			}
			return
		}
		n := 0
		for {
			k, err := r.Read(buf[n:])
			n += k
			if err == io.EOF {
				break
			}
			if err != nil {
				v.err = err
				return
			}
			if n == len(buf) {
				buf = append(buf, make([]byte, len(buf))...)
			}
		}
		b := buf[:n]
		now := time.Now()
		if typ == websocket.MessageBinary {
			if len(b) < frameHeader {
				v.err = fmt.Errorf("short frame")
				return
			}
			e := int(binary.LittleEndian.Uint32(b[4:]))
			v.epochs[e] = true
			if ms, ok := sent[e]; ok && live {
				v.latencies = append(v.latencies, now.Sub(time.UnixMilli(ms)))
			}
			delete(sent, e)
			continue
		}
		var m struct {
			Type     string `json:"type"`
			Epoch    int    `json:"epoch"`
			Backfill bool   `json:"backfill"`
			SentMS   int64  `json:"sent_ms"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			v.err = err
			return
		}
		switch m.Type {
		case "live":
			live = true
		case "epoch":
			// Live and backfill frames alike: t-SNE lags training, so
			// most epochs of a t-SNE run arrive as backfill.
			sent[m.Epoch] = m.SentMS
		}
	}
}

// loadResult is one run's figures.
type loadResult struct {
	viewers      int
	epochSeconds float64 // median of the training epochs' wall time
	p50, p99     time.Duration
	delivered    int // live epochs received, over all viewers
	missing      int // viewers that missed an epoch's frame (history + live + backfill)
	load         string
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// loadRun trains one run with viewers watching it (and stalled ones
// connected), and measures it.
func loadRun(t *testing.T, ts *testServer, viewers, stalled int) loadResult {
	t.Helper()
	c := createRun(t, ts, map[string]any{"dataset": "fashion", "epochs": loadEpochs, "projection": "tsne", "dims": 2, "seed": 7})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws/runs/" + c.ID
	var stuck []*websocket.Conn
	for range stalled {
		stuck = append(stuck, dial(t, ts, c.ID, dialOptions{readBuffer: 4096}))
	}
	vs := make([]*loadViewer, viewers)
	var wg sync.WaitGroup
	for i := range vs {
		vs[i] = new(loadViewer)
		wg.Go(func() { watchLive(ctx, url, vs[i]) })
	}
	wg.Wait()
	for _, s := range stuck {
		s.CloseNow()
	}
	r := loadResult{viewers: viewers, load: loadAvg()}
	var all []time.Duration
	for _, v := range vs {
		if v.err != nil {
			t.Errorf("a viewer failed: %v", v.err)
		}
		if len(v.epochs) != loadEpochs+1 {
			r.missing++
		}
		all = append(all, v.latencies...)
	}
	slices.Sort(all)
	r.delivered = len(all)
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[int(math.Ceil(0.99*float64(len(all))))-1]
	}
	// The training epochs' wall time, from the run's stored metrics.
	rn, err := ts.runs.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var secs []float64
	for e := 1; e <= loadEpochs; e++ {
		rec, err := rn.Epoch(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Seconds float64 }
		if err := json.Unmarshal(rec.Metrics, &m); err != nil {
			t.Fatal(err)
		}
		secs = append(secs, m.Seconds)
	}
	slices.Sort(secs)
	r.epochSeconds = secs[len(secs)/2]
	return r
}

func TestLoadViewers(t *testing.T) {
	t.Cleanup(func() { gemm.SetThreads(1); gemm.SetThreads(0) })
	ts := newTestServer(t, Options{MaxRuns: 1, MaxViewersPerAddress: 2 * (loadViewers + loadStalled)})
	var one, many []loadResult
	for round := range loadRounds {
		for _, n := range []int{1, loadViewers} {
			stalled := 0
			if n > 1 {
				stalled = loadStalled
			}
			r := loadRun(t, ts, n, stalled)
			t.Logf("round %d: %3d viewers (+%d stalled): epoch %.3f s, delivery p50 %v p99 %v over %d frames, %d viewers missing an epoch, load %s",
				round+1, n, stalled, r.epochSeconds, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.delivered, r.missing, r.load)
			if n == 1 {
				one = append(one, r)
			} else {
				many = append(many, r)
			}
		}
	}
	med := func(rs []loadResult, f func(loadResult) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		slices.Sort(xs)
		if len(xs)%2 == 0 {
			return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		return xs[len(xs)/2]
	}
	ratio := med(many, func(r loadResult) float64 { return r.epochSeconds }) / med(one, func(r loadResult) float64 { return r.epochSeconds })
	p99 := time.Duration(med(many, func(r loadResult) float64 { return float64(r.p99) }))
	t.Logf("300 viewers: training epoch %.3fx the one-viewer run's; delivery p99 %v", ratio, p99.Round(time.Millisecond))
	if p99 > 100*time.Millisecond {
		t.Errorf("p99 epoch delivery %v with %d viewers, want under 100 ms", p99, loadViewers)
	}
	if ratio > 1.10 {
		t.Errorf("training epochs take %.3fx as long with %d viewers, want within 10%%", ratio, loadViewers)
	}
	for _, r := range many {
		if r.missing > 0 {
			t.Errorf("%d of %d viewers missed an epoch", r.missing, r.viewers)
		}
	}
}
