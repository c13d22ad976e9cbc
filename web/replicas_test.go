package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/natsbus"
	"github.com/contrastive-explorer/explorer/run/natsbus/natstest"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// replicaOptions are a replica's: named name, on st, with its own
// connection to the NATS server at url.
func replicaOptions(t *testing.T, st run.Store, url, name, role string) Options {
	t.Helper()
	bus, err := natsbus.Connect(context.Background(), url, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return Options{
		Store: st, Bus: bus, Replica: name, Role: role,
		NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors,
	}
}

// TestPresentingAcrossReplicas: a run created on one web replica is
// trained by a worker; its owner presents on replica A and a follower on
// replica B gets the view; B shows the run as the worker trains it.
func TestPresentingAcrossReplicas(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	a := newTestServer(t, replicaOptions(t, st, srv.URL(), "a", RoleWeb))
	b := newTestServer(t, replicaOptions(t, st, srv.URL(), "b", RoleWeb))
	worker := newTestServer(t, replicaOptions(t, st, srv.URL(), "w", RoleWorker))

	c := createRun(t, a, quickConfig(3))
	if s := waitState(t, b, c.ID, run.Done); s.Epoch != 3 {
		t.Errorf("replica B shows %+v", s)
	}
	follower := dial(t, b, c.ID, dialOptions{suffix: "/follow"})
	time.Sleep(50 * time.Millisecond) // the follower is registered
	sent := time.Now()
	if ans := call(t, a, "POST", "/api/runs/"+c.ID+"/view", map[string]any{"present": true, "epoch": 2, "selected": []int{5}}, c.Token); ans.status != http.StatusNoContent {
		t.Fatalf("POST view on A: %d %s", ans.status, ans.body)
	}
	v, ok := readView(t, follower, 5*time.Second)
	if !ok || !v.Present || v.Epoch == nil || *v.Epoch != 2 || len(v.Selected) != 1 || v.Selected[0] != 5 {
		t.Fatalf("the follower on B got %+v (%v)", v, ok)
	}
	if lag := time.Since(sent); lag > time.Second {
		t.Errorf("the view took %v to cross replicas on loopback", lag)
	}
	late := dial(t, b, c.ID, dialOptions{suffix: "/follow"})
	if v, ok := readView(t, late, 2*time.Second); !ok || !v.Present {
		t.Errorf("a late follower on B starts with %+v (%v), want the view being presented", v, ok)
	}

	// A page following on A counts the two on B too.
	onA := dial(t, a, c.ID, dialOptions{suffix: "/follow"})
	if !readPages(t, onA, 3, 5*time.Second) {
		t.Error("the follower on A never heard of 3 pages over both replicas")
	}
	// Once counted, the replicas fall quiet: a count arriving is not
	// answered back.
	spy, err := natsbus.Connect(context.Background(), srv.URL(), "spy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	var notes atomic.Int64
	stop, err := spy.Subscribe(pagesSubject, func([]byte) { notes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	if n := notes.Load(); n > 2 {
		t.Errorf("%d page counts crossed the bus in 1.5 s with nobody coming or going", n)
	}

	// A handover link made through A is opened and claimed through B,
	// once.
	var h handoffJSON
	call(t, a, "POST", "/api/runs/"+c.ID+"/handoff", nil, c.Token).json(t, &h)
	code := h.URL[strings.Index(h.URL, "handoff=")+len("handoff="):]
	if ans := call(t, b, "GET", h.QR, nil, ""); ans.status != http.StatusOK {
		t.Errorf("the QR code of A's link through B: %d %s", ans.status, ans.body)
	}
	ans := call(t, b, "POST", "/api/runs/"+c.ID+"/claim", map[string]string{"code": code}, "")
	var got struct{ Token string }
	ans.json(t, &got)
	if ans.status != http.StatusOK || got.Token != c.Token {
		t.Fatalf("claiming A's link through B: %d %s", ans.status, ans.body)
	}
	for _, ts := range []*testServer{a, b} {
		if ans := call(t, ts, "POST", "/api/runs/"+c.ID+"/claim", map[string]string{"code": code}, ""); ans.status != http.StatusNotFound {
			t.Errorf("the used link claimed again: %d %s", ans.status, ans.body)
		}
	}

	// An export's progress is polled through the other replica.
	if ans := call(t, a, "GET", "/api/runs/"+c.ID+"/export?format=animation.gif&progress=k-gif", nil, ""); ans.status != http.StatusOK {
		t.Fatalf("the GIF through A: %d %s", ans.status, ans.body)
	}
	var p exportProgressJSON
	deadline := time.Now().Add(5 * time.Second)
	for {
		call(t, b, "GET", "/api/runs/"+c.ID+"/export/progress?key=k-gif", nil, "").json(t, &p)
		if p.Total > 0 && p.Done == p.Total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the GIF's progress through B: %+v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The worker serves its health, not pages.
	if ans := call(t, worker, "GET", "/readyz", nil, ""); ans.status != http.StatusOK {
		t.Errorf("worker /readyz: %d %s", ans.status, ans.body)
	}
	if ans := call(t, worker, "GET", "/api/runs", nil, ""); ans.status != http.StatusNotFound || !strings.Contains(string(ans.body), "worker") {
		t.Errorf("worker /api/runs: %d %s", ans.status, ans.body)
	}
}

// readPages reads a follow stream until it says want pages follow the
// run, within d.
func readPages(t *testing.T, conn *websocket.Conn, want int, d time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return false
		}
		var v viewersJSON
		if json.Unmarshal(b, &v) == nil && v.Type == "viewers" && v.Viewers == want {
			return true
		}
	}
}

// TestReadyzChecksTheBus: /readyz says 503 while NATS is down and ready
// again once it is back.
func TestReadyzChecksTheBus(t *testing.T) {
	srv := natstest.Start(t)
	ts := newTestServer(t, replicaOptions(t, memory.New(), srv.URL(), "a", RoleAll))
	if ans := call(t, ts, "GET", "/readyz", nil, ""); ans.status != http.StatusOK {
		t.Fatalf("/readyz with NATS up: %d %s", ans.status, ans.body)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ans := call(t, ts, "GET", "/readyz", nil, "")
		if ans.status == http.StatusServiceUnavailable && strings.Contains(string(ans.body), "NATS") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with NATS down: %d %s", ans.status, ans.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRolesNeedABus: a web-only or worker replica without a bus is
// refused, as is an unknown role.
func TestRolesNeedABus(t *testing.T) {
	for _, role := range []string{RoleWeb, RoleWorker, "boss"} {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := New(ctx, Options{Role: role, DataDir: t.TempDir()})
		cancel()
		if err == nil {
			s.Wait()
			t.Errorf("role %q without a bus: no error", role)
		}
	}
}
