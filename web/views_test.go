package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// TestOwnView checks a viewer's own projection over the websocket
// (?method&dims): its stream holds only frames of that projection and is
// not moved by the owner's change of the run's projection, which the run's
// other viewers follow; a late joiner of the view is served its frames;
// bad parameters get a 400, and a view past the server's memory for views
// a close that says why.
func TestOwnView(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors})
	const epochs = 3
	c := createRun(t, ts, map[string]any{"epochs": epochs, "dim": 4})
	own := dial(t, ts, c.ID, dialOptions{suffix: "?method=tsne&dims=3"})
	shared := dial(t, ts, c.ID, dialOptions{})
	if h := expectType(t, own, "hello"); h.View != (ProjectionJSON{Method: run.MethodTSNE, Dims: 3}) || !h.OwnView || h.Run.Projection.Method != run.MethodPCA {
		t.Fatalf("hello of the own view: view %+v own %v, run's %+v", h.View, h.OwnView, h.Run.Projection)
	}
	if h := expectType(t, shared, "hello"); h.View != (ProjectionJSON{Method: run.MethodPCA, Dims: 2}) || h.OwnView {
		t.Fatalf("hello of the run's projection: view %+v own %v", h.View, h.OwnView)
	}
	type result struct {
		msgs   []wsMsg
		status websocket.StatusCode
	}
	read := func(conn *websocket.Conn) chan result {
		ch := make(chan result, 1)
		go func() {
			var r result
			for {
				m, status, ok := next(t, conn)
				if !ok {
					r.status = status
					ch <- r
					return
				}
				r.msgs = append(r.msgs, m)
			}
		}()
		return ch
	}
	ownDone, sharedDone := read(own), read(shared)
	gate <- struct{}{}
	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/projection", `{"method":"pca","dims":3}`, c.Token); a.status != http.StatusOK {
		t.Fatalf("projection: %d %s", a.status, a.body)
	}
	for range epochs - 1 {
		gate <- struct{}{}
	}

	var ownRes, sharedRes result
	for _, w := range []struct {
		ch  chan result
		out *result
	}{{ownDone, &ownRes}, {sharedDone, &sharedRes}} {
		select {
		case *w.out = <-w.ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("a stream did not end within 20 s")
		}
	}
	for _, res := range []result{ownRes, sharedRes} {
		if res.status != websocket.StatusNormalClosure || len(res.msgs) == 0 || res.msgs[len(res.msgs)-1].Type != "done" {
			t.Fatalf("end of a stream: %v, closed %v", types(res.msgs), res.status)
		}
	}
	newest := -1
	for _, m := range ownRes.msgs {
		switch m.Type {
		case "projection":
			t.Errorf("the viewer of its own projection was told the run's changed to %s %dD", m.Method, m.Dims)
		case "epoch":
			if m.Frame.Method != run.MethodTSNE || m.Frame.Dims != 3 || len(m.coords) != 3*1797 {
				t.Errorf("epoch %d of the own view in %s %dD (%d values)", m.Epoch, m.Frame.Method, m.Frame.Dims, len(m.coords))
			}
			newest = max(newest, m.Epoch)
		}
	}
	if newest != epochs {
		t.Errorf("the own view's newest epoch is %d, want %d: %v", newest, epochs, types(ownRes.msgs))
	}
	told, last := false, frameInfo{}
	for _, m := range sharedRes.msgs {
		switch m.Type {
		case "projection":
			told = told || (m.Method == run.MethodPCA && m.Dims == 3)
		case "epoch":
			if m.Epoch == epochs {
				last = m.Frame
			}
		}
	}
	if !told || last.Method != run.MethodPCA || last.Dims != 3 {
		t.Errorf("the run's viewers: told of the change %v, last epoch in %s %dD", told, last.Method, last.Dims)
	}

	// A late joiner of the view gets every epoch in it, and done.
	late, status := readToEnd(t, dial(t, ts, c.ID, dialOptions{suffix: "?method=tsne&dims=3"}))
	checkStream(t, late, status, epochs, 1797)
	for _, m := range late {
		if m.Type == "epoch" && (m.Frame.Method != run.MethodTSNE || m.Frame.Dims != 3) {
			t.Errorf("late joiner: epoch %d in %s %dD", m.Epoch, m.Frame.Method, m.Frame.Dims)
		}
	}

	for _, q := range []string{"method=tsne", "dims=3", "method=isomap&dims=2", "method=tsne&dims=4", "method=pca&dims=x"} {
		a := call(t, ts, "GET", "/ws/runs/"+c.ID+"?"+q, nil, "")
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "error") {
			t.Errorf("?%s: %d %s, want 400 with a message", q, a.status, a.body)
		}
	}

	// No memory left for views: the socket closes with "try again later"
	// and the reason, and the run's own projection still streams.
	tight := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors, MaxViewBytes: 1})
	c2 := createRun(t, tight, map[string]any{"epochs": 1, "dim": 4})
	conn := dial(t, tight, c2.ID, dialOptions{suffix: "?method=tsne&dims=2"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater || !strings.Contains(ce.Reason, "busy") {
		t.Errorf("a view past the budget: %v, want a 1013 close saying the server is busy", err)
	}
	msgs, status := readToEnd(t, dial(t, tight, c2.ID, dialOptions{}))
	checkStream(t, msgs, status, 1, 1797)
}
