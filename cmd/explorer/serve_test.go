package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// lockedBuffer is a bytes.Buffer safe for the server goroutine to write
// while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var urlPattern = regexp.MustCompile(`http://[0-9.]+:[0-9]+/`)

// startServe runs the whole program with args in the background and
// returns the URL it prints and a channel with run's result.
func startServe(t *testing.T, ctx context.Context, args ...string) (string, <-chan error, *lockedBuffer) {
	t.Helper()
	var stdout, stderr lockedBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, &stdout, &stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if u := urlPattern.FindString(stdout.String()); u != "" {
			return u, errc, &stderr
		}
		select {
		case err := <-errc:
			t.Fatalf("serve ended before printing its URL: %v\nstderr: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no URL in 10 s; stdout %q, stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitExit(t *testing.T, errc <-chan error, stderr *lockedBuffer) {
	t.Helper()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve: %v\nstderr: %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15 s after its context ended\nstderr: %s", stderr.String())
	}
}

// TestServe starts the server on a free port, checks /healthz and the home
// page, and stops it by cancelling the context, as SIGINT would.
func TestServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, errc, stderr := startServe(t, ctx, "serve", "--addr", "127.0.0.1:0", "--data", data)

	res, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET /healthz: %d %q", res.StatusCode, body)
	}
	res, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-testid="train-form"`) {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	if fi, err := os.Stat(data); err != nil || !fi.IsDir() {
		t.Errorf("--data folder not created: %v", err)
	}

	cancel()
	waitExit(t, errc, stderr)
	if _, err := http.Get(url + "healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// TestServeIsDefault runs the program without a command.
func TestServeIsDefault(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, errc, stderr := startServe(t, ctx, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	cancel()
	waitExit(t, errc, stderr)

	var help bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &help, io.Discard); err != nil || !strings.Contains(help.String(), "serve") {
		t.Errorf("help does not list serve: %v\n%s", err, help.String())
	}
}

// TestServeShutdownClosesWebsockets stops the server under a viewer of a
// training run: the viewer gets status 1001 and serve returns.
func TestServeShutdownClosesWebsockets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, errc, stderr := startServe(t, ctx, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())

	cfg := `{"dataset":"digits","epochs":1000,"batch":64,"hidden":[16],"dim":4}`
	res, err := http.Post(url+"api/runs", "application/json", strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/runs: %d %v", res.StatusCode, err)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(url, "http")+"ws/runs/"+created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	if _, _, err := conn.Read(dctx); err != nil { // hello
		t.Fatal(err)
	}

	cancel()
	for {
		_, _, err := conn.Read(dctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
				t.Fatalf("viewer closed with %v (%v), want 1001", s, err)
			}
			break
		}
	}
	waitExit(t, errc, stderr)
}

// TestServeBadFlags checks usage errors.
func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--max-runs", "0"},
		{"serve", "--max-upload-mb", "0"},
		{"serve", "--max-items", "5"},
		{"serve", "--max-uploads", "-1"},
		{"serve", "--nope"},
		{"serve", "extra"},
		{"serve", "--data", "DATA", "--store", "mysql://db/explorer"},
		{"runs", "list", "--data", "DATA", "--store", "mysql://db/explorer"},
		{"export", "--data", "DATA", "--store", "mysql://db/explorer", "r-1"},
		{"serve", "--data", "DATA", "--role", "boss"},
		{"serve", "--data", "DATA", "--role", "web"},                   // no --nats: nobody would train
		{"serve", "--data", "DATA", "--role", "worker"},                // no --nats: nobody would serve
		{"serve", "--data", "DATA", "--nats", "nats://127.0.0.1:4222"}, // no --store postgres
		{"serve", "--data", "DATA", "--store", "postgres://127.0.0.1/x", "--nats", "nats://127.0.0.1:4222", "--heartbeat-timeout", "10ms"},
	} {
		for i, a := range args {
			if a == "DATA" {
				args[i] = t.TempDir()
			}
		}
		err := run(context.Background(), args, io.Discard, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// TestServeUploadFlags starts serve with small upload limits: a file over
// --max-upload-mb answers 413 naming the limit, one with more items than
// --max-items 400 naming it, and a good one 201. Spool files land under
// --data and are removed.
func TestServeUploadFlags(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, errc, stderr := startServe(t, ctx, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--max-upload-mb", "1", "--max-items", "20")

	upload := func(name, content string) (int, string) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
		mw.Close()
		res, err := http.Post(url+"api/datasets", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		return res.StatusCode, e.Error
	}
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString("x,y,label\n")
		for i := range n {
			b.WriteString(strings.Repeat("1", 1+i%3) + ",2," + string(rune('a'+i%2)) + "\n")
		}
		return b.String()
	}

	if code, msg := upload("big.zip", "PK\x03\x04"+strings.Repeat("\x00", 1_200_000)); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "1 MB") {
		t.Errorf("1.2 MB zip: %d %q, want 413 naming 1 MB", code, msg)
	}
	if code, msg := upload("many.csv", rows(30)); code != http.StatusBadRequest || !strings.Contains(msg, "20") {
		t.Errorf("30 items: %d %q, want 400 naming the limit of 20", code, msg)
	}
	if code, msg := upload("ok.csv", rows(15)); code != http.StatusCreated {
		t.Errorf("15 items: %d %q, want 201", code, msg)
	}
	if spools, _ := filepath.Glob(filepath.Join(data, "uploads", "*.part")); len(spools) > 0 {
		t.Errorf("spool files left behind: %v", spools)
	}
	// The accepted upload is kept, in a folder of its own, for restarts.
	if kept, _ := filepath.Glob(filepath.Join(data, "uploads", "u-*", "file")); len(kept) != 1 {
		t.Errorf("kept uploads: %v, want the one accepted", kept)
	}
	cancel()
	waitExit(t, errc, stderr)
}
