package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// TestCrossOriginRefused checks that a page on another origin (another
// site, or another port of this host) cannot change anything, whatever
// the cookies, and that JSON endpoints take only JSON.
func TestCrossOriginRefused(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	send := func(method, path, body, contentType string, header map[string]string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Host = "127.0.0.1:8080"
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookieOf(sessionA)})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	cfg := `{"dataset":"digits","epochs":1}`
	for _, tt := range []struct {
		name               string
		method, path, body string
		contentType        string
		header             map[string]string
		want               int
	}{
		{"another site's fetch", "POST", "/api/runs", cfg, "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"another port of this host", "POST", "/api/runs", cfg, "application/json", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"an old browser's form from elsewhere", "POST", "/api/runs", cfg, "application/json", map[string]string{"Origin": "http://127.0.0.1:9999"}, 403},
		{"a plain HTML form", "POST", "/api/runs", "dataset=digits", "application/x-www-form-urlencoded", nil, 415},
		{"text/plain", "POST", "/api/runs", cfg, "text/plain", nil, 415},
		{"an upload from another site", "POST", "/api/datasets", "x", "multipart/form-data; boundary=x", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"a delete from another site", "DELETE", "/api/datasets/u-0123456789abcdef", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"the explorer's own page", "POST", "/api/runs", cfg, "application/json", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"}, 201},
		{"a program (no browser headers)", "POST", "/api/runs", cfg, "application/json", nil, 201},
		{"a cross-site GET is only a read", "GET", "/api/datasets", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.method, tt.path, tt.body, tt.contentType, tt.header); got != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, got, tt.want)
			}
		})
	}
}

// TestSecurityHeaders checks the headers of pages: a policy without inline
// script, no sniffing, no framing.
func TestSecurityHeaders(t *testing.T) {
	s := newTestServer(t, Options{})
	a := callAs(t, s, sessionA, "GET", "/", nil, "")
	csp := a.header.Get("Content-Security-Policy")
	if a.status != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
}

// TestRunsPrivacy checks, with two browser sessions, that each lists only
// its own runs and the runs whose link it opened, and that another
// session's upload id is never shown nor usable.
func TestRunsPrivacy(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	d := mustUpload(t, s, sessionA, filePart("points.csv", csvRows(40)))
	onUpload := createRunAs(t, s, sessionA, map[string]any{"dataset": d.ID, "epochs": 1, "batch": 8, "dim": 4})
	onDigits := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "epochs": 1, "batch": 64, "dim": 4})
	waitState(t, s, onUpload.ID, run.Done)

	list := func(sess string) []runEntryJSON {
		t.Helper()
		a := callAs(t, s, sess, "GET", "/api/runs", nil, "")
		var out []runEntryJSON
		if err := json.Unmarshal(a.body, &out); err != nil || a.status != 200 {
			t.Fatalf("GET /api/runs as %s: %d %s", sess, a.status, a.body)
		}
		return out
	}
	owned := map[string]runEntryJSON{}
	for _, e := range list(sessionA) {
		owned[e.ID] = e
	}
	if len(owned) != 2 || !owned[onDigits.ID].Owner || owned[onUpload.ID].Config.Dataset != d.ID {
		t.Fatalf("the owner's list: %+v", owned)
	}
	if l := list(sessionB); len(l) != 0 {
		t.Fatalf("another session lists %d runs", len(l))
	}

	// B follows the link: it may watch, and the run joins its list, but
	// the upload's id stays A's.
	if a := callAs(t, s, sessionB, "GET", "/runs/"+onUpload.ID, nil, ""); a.status != 200 {
		t.Fatalf("run page by link: %d", a.status)
	}
	l := list(sessionB)
	if len(l) != 1 || l[0].ID != onUpload.ID || !l[0].Shared || l[0].Owner || l[0].Config.Dataset != uploadedDataset {
		t.Fatalf("the follower's list: %+v", l)
	}
	var sum RunSummary
	a := callAs(t, s, sessionB, "GET", "/api/runs/"+onUpload.ID, nil, "")
	if err := json.Unmarshal(a.body, &sum); err != nil || strings.Contains(string(a.body), d.ID) {
		t.Errorf("the run's summary shows another session the upload's id: %s", a.body)
	}
	b, _ := json.Marshal(map[string]any{"dataset": d.ID, "epochs": 1})
	if a := callAs(t, s, sessionB, "POST", "/api/runs", b, "application/json"); a.status != http.StatusBadRequest {
		t.Errorf("training on another session's upload: %d %s, want 400", a.status, a.body)
	}
	// Nor can B delete A's run without its token.
	if a := callAs(t, s, sessionB, "DELETE", "/api/runs/"+onUpload.ID, nil, ""); a.status != http.StatusForbidden {
		t.Errorf("delete without the token: %d", a.status)
	}
}

// TestDeleteRun checks DELETE /api/runs/{id}: the owner's token removes
// the run, from the list and from the store.
func TestDeleteRun(t *testing.T) {
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "epochs": 1, "batch": 64, "dim": 4})
	waitState(t, s, c.ID, run.Done)
	req := httptest.NewRequest("DELETE", "/api/runs/"+c.ID, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if a := call(t, s, "GET", "/api/runs/"+c.ID, nil, ""); a.status != http.StatusNotFound {
		t.Errorf("after delete: %d", a.status)
	}
	if a := callAs(t, s, sessionA, "GET", "/api/runs", nil, ""); strings.Contains(string(a.body), c.ID) {
		t.Errorf("deleted run still listed: %s", a.body)
	}
}

// TestClientBounds checks the per-address bounds: neighbours and search
// requests are rate limited (429), and so are open websockets.
func TestClientBounds(t *testing.T) {
	gate := make(chan struct{})
	s := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors,
		QueryRate: 1, MaxViewersPerAddress: 2})
	c := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "epochs": 1, "batch": 64, "dim": 4})
	gate <- struct{}{}
	waitState(t, s, c.ID, run.Done)
	statuses := map[int]int{}
	for range 5 {
		statuses[call(t, s, "GET", "/api/runs/"+c.ID+"/neighbors?item=1", nil, "").status]++
	}
	if statuses[http.StatusOK] != 2 || statuses[http.StatusTooManyRequests] != 3 {
		t.Errorf("5 quick neighbour requests at 1/s with bursts of 2: %v", statuses)
	}
	if a := call(t, s, "GET", "/healthz", nil, ""); a.status != http.StatusOK {
		t.Errorf("healthz after: %d", a.status)
	}

	// Two open views are allowed; a third from the same address is not.
	// The run waits at its gate, so the views stay open.
	live := createRunAs(t, s, sessionA, map[string]any{"dataset": "digits", "epochs": 3, "batch": 64, "dim": 4})
	a1 := dial(t, s, live.ID, dialOptions{})
	defer a1.CloseNow()
	a2 := dial(t, s, live.ID, dialOptions{})
	defer a2.CloseNow()
	res, err := http.Get(s.URL + "/ws/runs/" + live.ID)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third websocket from one address: %d, want 429", res.StatusCode)
	}
}
