package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// readView reads the next view of a follow stream (skipping viewer
// counts), within d.
func readView(t *testing.T, conn *websocket.Conn, d time.Duration) (viewJSON, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return viewJSON{}, false
		}
		var v viewJSON
		if typ != websocket.MessageText || json.Unmarshal(b, &v) != nil || (v.Type != "view" && v.Type != "viewers") {
			t.Fatalf("follow stream sent %v %s", typ, b)
		}
		if v.Type == "view" {
			return v, true
		}
	}
}

// TestPresenting follows a finished run: the owner's views reach every
// follower at once, a late follower starts from the view being presented,
// and presenting ends for all.
func TestPresenting(t *testing.T) {
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, quickConfig(3))
	waitState(t, ts, c.ID, run.Done)

	// (A read that times out closes the connection, so silence is only
	// checked last: here the first view heard must be the first sent.)
	early := dial(t, ts, c.ID, dialOptions{suffix: "/follow"})
	time.Sleep(50 * time.Millisecond) // the follower is registered
	epoch := 2
	view := map[string]any{
		"present": true, "epoch": epoch, "camera": map[string]any{"zoom": 2.5, "pan_x": 0.1, "pan_y": -0.2, "yaw": 0, "pitch": 0},
		"selected": []int{7}, "hidden": []int{3}, "search": "7",
	}
	sent := time.Now()
	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/view", view, c.Token); a.status != http.StatusNoContent {
		t.Fatalf("POST view: %d %s", a.status, a.body)
	}
	v, ok := readView(t, early, 2*time.Second)
	if !ok {
		t.Fatal("the follower heard nothing of the view")
	}
	if lag := time.Since(sent); lag > 200*time.Millisecond {
		t.Errorf("the view took %v to reach a follower on loopback", lag)
	}
	if !v.Present || v.Epoch == nil || *v.Epoch != 2 || v.Camera == nil || v.Camera.Zoom != 2.5 || len(v.Selected) != 1 || v.Selected[0] != 7 ||
		len(v.Hidden) != 1 || v.Hidden[0] != 3 || v.Search != "7" || v.Seq != 1 || v.SentMS == 0 {
		t.Errorf("the follower got %+v", v)
	}
	late := dial(t, ts, c.ID, dialOptions{suffix: "/follow"})
	if v, ok := readView(t, late, 2*time.Second); !ok || v.Seq != 1 || !v.Present {
		t.Errorf("a late follower starts with %+v (%v), want the view being presented", v, ok)
	}

	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/view", map[string]any{"present": false}, c.Token); a.status != http.StatusNoContent {
		t.Fatalf("POST view: %d %s", a.status, a.body)
	}
	for _, conn := range []*websocket.Conn{early, late} {
		if v, ok := readView(t, conn, 2*time.Second); !ok || v.Present {
			t.Errorf("presenting ended, a follower got %+v (%v)", v, ok)
		}
	}
	after := dial(t, ts, c.ID, dialOptions{suffix: "/follow"})
	if v, ok := readView(t, after, 300*time.Millisecond); ok {
		t.Errorf("after presenting ended, a new follower heard %+v", v)
	}
}

// TestPresentingIsTheOwners refuses views without the token and views the
// run cannot show.
func TestPresentingIsTheOwners(t *testing.T) {
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, quickConfig(3))
	waitState(t, ts, c.ID, run.Done)
	path := "/api/runs/" + c.ID + "/view"
	if a := call(t, ts, "POST", path, map[string]any{"present": true}, ""); a.status != http.StatusForbidden {
		t.Errorf("without the token: %d %s", a.status, a.body)
	}
	if a := call(t, ts, "POST", "/api/runs/nope/view", map[string]any{"present": true}, c.Token); a.status != http.StatusNotFound {
		t.Errorf("an unknown run: %d", a.status)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"present": true, "epoch": 4}, "epoch"},
		{map[string]any{"present": true, "epoch": -1}, "epoch"},
		{map[string]any{"present": true, "camera": map[string]any{"zoom": 100}}, "camera"},
		{map[string]any{"present": true, "camera": map[string]any{"zoom": 1, "pan_x": 1e9}}, "camera"},
		{map[string]any{"present": true, "camera": map[string]any{"zoom": 1, "pitch": 3}}, "camera"},
		{map[string]any{"present": true, "selected": []int{1797}}, "selected"},
		{map[string]any{"present": true, "selected": make([]int, 17)}, "selected"},
		{map[string]any{"present": true, "hidden": []int{10}}, "hidden"},
		{map[string]any{"present": true, "search": string(make([]rune, 201))}, "search"},
		{`{"present": true, "epoch": "two"}`, "epoch"},
	} {
		a := call(t, ts, "POST", path, tc.body, c.Token)
		var e struct{ Field string }
		_ = json.Unmarshal(a.body, &e)
		if a.status != http.StatusBadRequest || e.Field != tc.field {
			t.Errorf("view %v: %d %s, want 400 naming %q", tc.body, a.status, a.body, tc.field)
		}
	}
	if a := call(t, ts, "GET", "/healthz", nil, ""); a.status != http.StatusOK {
		t.Errorf("server unhealthy after bad views: %d", a.status)
	}
}

// TestViewerCount checks that a run's pages hear, on the follow stream,
// how many they are when one joins or leaves, done or not.
func TestViewerCount(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, quickConfig(5))
	first := dial(t, ts, c.ID, dialOptions{suffix: "/follow"})
	waitCount := func(conn *websocket.Conn, want int) {
		t.Helper()
		for {
			m, _, ok := next(t, conn)
			if !ok {
				t.Fatalf("the stream ended before a count of %d", want)
			}
			if m.Type != "viewers" {
				t.Fatalf("the follow stream sent %q with nobody presenting", m.Type)
			}
			if *m.Viewers == want {
				return
			}
		}
	}
	waitCount(first, 1)
	var others []*websocket.Conn
	for range 3 {
		others = append(others, dial(t, ts, c.ID, dialOptions{suffix: "/follow"}))
	}
	waitCount(first, 4)
	for _, o := range others {
		o.Close(websocket.StatusNormalClosure, "")
	}
	waitCount(first, 1)
	close(gate)
	waitState(t, ts, c.ID, run.Done)
	dial(t, ts, c.ID, dialOptions{suffix: "/follow"})
	waitCount(first, 2) // a finished run's pages are counted too
}

// TestHandoff moves a run's control to another device: the owner's
// one-time link (and its QR code) gives the first browser to open it the
// control token, once; without the token no link is made.
func TestHandoff(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, s, quickConfig(3))
	base := "/api/runs/" + c.ID
	if a := call(t, s, "POST", base+"/handoff", nil, ""); a.status != http.StatusForbidden {
		t.Fatalf("handoff without the token: %d, want 403", a.status)
	}
	a := call(t, s, "POST", base+"/handoff", nil, c.Token)
	var h handoffJSON
	a.json(t, &h)
	code, ok := strings.CutPrefix(h.URL, "http://example.com/runs/"+c.ID+"?handoff=")
	if a.status != http.StatusCreated || !ok || len(code) < 20 || h.ExpiresIn != 600 {
		t.Fatalf("handoff: %d %+v", a.status, h)
	}
	// The QR code is the link.
	qr := call(t, s, "GET", h.QR, nil, "")
	want, err := qrcode.Encode(h.URL, qrcode.Medium, 320)
	if err != nil {
		t.Fatal(err)
	}
	if qr.status != http.StatusOK || qr.header.Get("Content-Type") != "image/png" || !bytes.Equal(qr.body, want) {
		t.Errorf("QR code: %d %s, %d bytes; want the link's", qr.status, qr.header.Get("Content-Type"), len(qr.body))
	}
	if img, err := png.Decode(bytes.NewReader(qr.body)); err != nil || img.Bounds().Dx() != img.Bounds().Dy() {
		t.Errorf("QR code does not decode as a square PNG: %v", err)
	}
	// Claimed once: the token works; a second claim, another run's or a
	// made-up code get nothing.
	a = call(t, s, "POST", base+"/claim", map[string]string{"code": code}, "")
	var got struct{ Token string }
	a.json(t, &got)
	if a.status != http.StatusOK || got.Token != c.Token {
		t.Fatalf("claim: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", base+"/pause", nil, got.Token); a.status != http.StatusOK {
		t.Errorf("pause with the handed-on token: %d %s", a.status, a.body)
	}
	for _, tt := range []struct{ path, code string }{{base, code}, {base, "made-up"}} {
		if a := call(t, s, "POST", tt.path+"/claim", map[string]string{"code": tt.code}, ""); a.status != http.StatusNotFound || strings.Contains(string(a.body), c.Token) {
			t.Errorf("claim %q again: %d %s, want 404", tt.code, a.status, a.body)
		}
	}
	if a := call(t, s, "GET", h.QR, nil, ""); a.status != http.StatusNotFound {
		t.Errorf("QR of a spent link: %d, want 404", a.status)
	}
	other := createRun(t, s, quickConfig(3))
	a = call(t, s, "POST", "/api/runs/"+other.ID+"/handoff", nil, other.Token)
	a.json(t, &h)
	otherCode := h.URL[strings.LastIndex(h.URL, "=")+1:]
	if a := call(t, s, "POST", base+"/claim", map[string]string{"code": otherCode}, ""); a.status != http.StatusNotFound {
		t.Errorf("another run's code claimed this one: %d", a.status)
	}
	// A run has at most a few links open.
	for i := range handoffsPerRun + 1 {
		a := call(t, s, "POST", base+"/handoff", nil, c.Token)
		if (i < handoffsPerRun) != (a.status == http.StatusCreated) {
			t.Errorf("link %d: %d", i+1, a.status)
		}
	}
}
