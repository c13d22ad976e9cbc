//go:build load

package main

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

	"github.com/contrastive-explorer/explorer/run/natsbus/natstest"
	"github.com/contrastive-explorer/explorer/run/postgres/pgtest"
)

// The replicas' load test (docs/benchmarks.md, "Viewers across
// replicas"), behind the load build tag:
//
//	go test -tags load -run TestLoadReplicas -v ./cmd/explorer/
//
// Two web replicas and one training worker, each an explorer process,
// share a PostgreSQL cluster and a NATS server; 5 runs train on the worker
// and 1,000 viewers (websockets from this process) watch them, spread
// evenly over the runs and the two web replicas. The figure is the epoch
// delivery latency: from the frame's publication on the worker (sent_ms)
// to a viewer's receipt of its binary frame, over every live epoch every
// viewer got. Target (issue 13): p99 under 150 ms.

const (
	loadRuns    = 5
	loadViewers = 1000
	loadEpochs  = 60
)

// replicaViewer is one viewer's record.
type replicaViewer struct {
	latencies []time.Duration
	epochs    map[int]bool
	err       error
}

// watchReplica reads a run's stream to its end, timing each epoch frame
// that comes after the history.
func watchReplica(ctx context.Context, url string, v *replicaViewer) {
	v.epochs = map[int]bool{}
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		v.err = err
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	live := false
	sent := map[int]int64{}
	buf := make([]byte, 64<<10)
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
		b, now := buf[:n], time.Now()
		if typ == websocket.MessageBinary {
			if len(b) < 16 {
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
			Type   string `json:"type"`
			Epoch  int    `json:"epoch"`
			SentMS int64  `json:"sent_ms"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			v.err = err
			return
		}
		switch m.Type {
		case "live":
			live = true
		case "epoch":
			sent[m.Epoch] = m.SentMS
		}
	}
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// loadFigures are one round's.
type loadFigures struct {
	elapsed            time.Duration
	p50, p90, p99, max time.Duration
	frames, missing    int
	load               float64
}

// loadRound trains loadRuns runs created through the first of webs and
// watched by loadViewers viewers spread over webs, and measures it.
func loadRound(t *testing.T, webs []*child) loadFigures {
	t.Helper()
	var ids []string
	for i := range loadRuns {
		r := webs[i%len(webs)].create(fmt.Sprintf(`{"dataset":"digits","epochs":%d,"batch":32,"hidden":[256,128],"dim":16,"seed":%d}`, loadEpochs, i+1))
		ids = append(ids, r.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	vs := make([]*replicaViewer, loadViewers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range vs {
		vs[i] = new(replicaViewer)
		c := webs[i%len(webs)]
		url := "ws" + strings.TrimPrefix(c.url, "http") + "ws/runs/" + ids[(i/len(webs))%loadRuns]
		wg.Go(func() { watchReplica(ctx, url, vs[i]) })
	}
	// The 1-minute load average, sampled every second while they watch.
	var loads []float64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				var l float64
				fmt.Sscan(loadAverage(), &l)
				loads = append(loads, l)
			}
		}
	}()
	wg.Wait()
	f := loadFigures{elapsed: time.Since(start)}
	cancel()
	<-sampled
	for _, l := range loads {
		f.load += l / float64(len(loads))
	}
	var all []time.Duration
	failed := 0
	for _, v := range vs {
		if v.err != nil {
			failed++
			if failed <= 3 {
				t.Errorf("a viewer failed: %v", v.err)
			}
		}
		if len(v.epochs) != loadEpochs+1 {
			f.missing++
		}
		all = append(all, v.latencies...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		t.Fatal("no live epoch reached any viewer")
	}
	p := func(q float64) time.Duration { return all[int(math.Ceil(q*float64(len(all))))-1] }
	f.p50, f.p90, f.p99, f.max, f.frames = p(0.5), p(0.9), p(0.99), all[len(all)-1], len(all)
	return f
}

// TestLoadReplicas runs the replicas' round and, as the reference, the
// same round on one explorer that trains and serves alone (SQLite, no
// NATS), alternating A B A B.
func TestLoadReplicas(t *testing.T) {
	db := pgtest.Start(t).NewDatabase(t)
	nats := natstest.Start(t).URL()
	flags := func(role string, more ...string) []string {
		return append([]string{"--store", db, "--nats", nats, "--role", role, "--max-viewers-per-address", "2000"}, more...)
	}
	webs := []*child{startChild(t, t.TempDir(), flags("web")...), startChild(t, t.TempDir(), flags("web")...)}
	startChild(t, t.TempDir(), flags("worker", "--max-runs", fmt.Sprint(loadRuns))...)
	alone := startChild(t, t.TempDir(), "--max-runs", fmt.Sprint(loadRuns), "--max-viewers-per-address", "2000")

	t.Logf("%d viewers of %d digits runs of %d epochs training at once", loadViewers, loadRuns, loadEpochs)
	t.Logf("| round | setup | wall | epochs/s | delivery p50 | p90 | p99 | max | frames timed | viewers missing an epoch | load |")
	t.Logf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	const rounds = 2
	for round := 1; round <= rounds; round++ {
		for _, side := range []struct {
			name string
			webs []*child
		}{{"2 web replicas + 1 worker, PostgreSQL, NATS", webs}, {"1 explorer alone (SQLite)", []*child{alone}}} {
			f := loadRound(t, side.webs)
			t.Logf("| %d | %s | %.1f s | %.1f | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %d | %d | %.2f |", round, side.name,
				f.elapsed.Seconds(), float64(loadRuns*loadEpochs)/f.elapsed.Seconds(), ms(f.p50), ms(f.p90), ms(f.p99), ms(f.max), f.frames, f.missing, f.load)
			if f.missing > 0 {
				t.Errorf("%s: %d viewers missed an epoch", side.name, f.missing)
			}
			if len(side.webs) == 2 && f.p99 > 150*time.Millisecond {
				t.Errorf("replicas: p99 epoch delivery %.1f ms, target under 150 ms", ms(f.p99))
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
