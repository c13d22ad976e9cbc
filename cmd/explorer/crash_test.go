package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/run/postgres/pgtest"
	"github.com/contrastive-explorer/explorer/run/sqlite"
)

// child is `explorer serve` in a process of its own, on a data folder.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	url string
	out *lockedBuffer
}

// startChild starts the explorer on data, with more flags if given, and
// waits for its URL.
func startChild(t *testing.T, data string, flags ...string) *child {
	t.Helper()
	args, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--max-runs", "2"}, flags...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	out := &lockedBuffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, out: out}
	t.Cleanup(func() { c.kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u := urlPattern.FindString(sc.Text()); u != "" {
				found <- u
			}
		}
	}()
	select {
	case c.url = <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("the child printed no URL in 20 s; stderr:\n%s", out.String())
	}
	return c
}

// kill ends the child with SIGKILL, as a crash would.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

type runJSON struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	State     string `json:"state"`
	Epoch     int    `json:"epoch"`
	Resumable bool   `json:"resumable"`
}

func (c *child) do(method, path, token, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v\nstderr:\n%s", method, path, err, c.out.String())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (c *child) create(cfg string) runJSON {
	c.t.Helper()
	status, b := c.do("POST", "/api/runs", "", cfg)
	var r runJSON
	if err := json.Unmarshal(b, &r); err != nil || status != http.StatusCreated {
		c.t.Fatalf("POST /api/runs: %d %s", status, b)
	}
	return r
}

func (c *child) get(id string) runJSON {
	c.t.Helper()
	_, b := c.do("GET", "/api/runs/"+id, "", "")
	var r runJSON
	if err := json.Unmarshal(b, &r); err != nil {
		c.t.Fatalf("GET run: %s", b)
	}
	return r
}

func (c *child) waitFor(id string, ok func(runJSON) bool) runJSON {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := c.get(id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run %s: still %+v after 2 minutes", id, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stream reads a finished run's whole stream: each message's type and
// bytes, in order.
func (c *child) stream(id string) [][]byte {
	c.t.Helper()
	return c.streamFor(id, 30*time.Second)
}

// streamFor reads the run's stream until the server ends it, for at most
// d: each message's type and bytes, in order.
func (c *child) streamFor(id string, d time.Duration) [][]byte {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.url, "http")+"ws/runs/"+id, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	var msgs [][]byte
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				c.t.Fatalf("stream of %s: %v", id, err)
			}
			return msgs
		}
		msgs = append(msgs, append([]byte{byte(typ)}, b...))
	}
}

// epochMessage is a stream's "epoch" message, as the tests read it.
type epochMessage struct {
	Type     string         `json:"type"`
	Epoch    int            `json:"epoch"`
	Backfill bool           `json:"backfill"`
	Metrics  map[string]any `json:"metrics"`
}

// epochMessages returns a stream's epoch messages, in order.
func epochMessages(msgs [][]byte) []epochMessage {
	var out []epochMessage
	for _, m := range msgs {
		if websocket.MessageType(m[0]) != websocket.MessageText {
			continue
		}
		var e epochMessage
		if err := json.Unmarshal(m[1:], &e); err != nil || e.Type != "epoch" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// epochMetrics returns each epoch's metrics in a stream, and fails on an
// epoch that comes twice.
func epochMetrics(t *testing.T, msgs [][]byte) map[int]map[string]any {
	t.Helper()
	out := map[int]map[string]any{}
	for _, e := range epochMessages(msgs) {
		if _, dup := out[e.Epoch]; dup {
			t.Errorf("epoch %d comes twice in the history", e.Epoch)
		}
		out[e.Epoch] = e.Metrics
	}
	return out
}

// TestKillAndRestart kills a real `explorer serve` with SIGKILL while a run
// trains, restarts it on the same data folder, and checks that the finished
// run is served byte for byte as before, the interrupted one is marked and
// resumes from its checkpoint to the same metrics as an uninterrupted run,
// with no epoch missing or twice.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills explorer processes")
	}
	data := t.TempDir()
	a := startChild(t, data)
	finished := a.create(`{"dataset":"digits","epochs":3,"batch":64,"hidden":[16],"dim":4}`)
	a.waitFor(finished.ID, func(r runJSON) bool { return r.State == "done" })
	a.stream(finished.ID) // to its end: every epoch projected
	before := a.stream(finished.ID)

	const epochs = 12
	cfg := fmt.Sprintf(`{"dataset":"digits","epochs":%d,"batch":32,"hidden":[64],"dim":8,"seed":7}`, epochs)
	victim := a.create(cfg)
	a.waitFor(victim.ID, func(r runJSON) bool { return r.Epoch >= 3 })
	a.kill()

	b := startChild(t, data)
	after := b.stream(finished.ID)
	if len(after) != len(before) {
		t.Fatalf("the finished run streams %d messages after the crash, %d before", len(after), len(before))
	}
	for i := range after {
		// hello tells the viewer count and the run as it is now; every
		// other message must be the same bytes.
		if i > 0 && !bytes.Equal(after[i], before[i]) {
			t.Errorf("message %d of the finished run differs after the crash:\n%.200s\n%.200s", i, before[i], after[i])
		}
	}

	r := b.get(victim.ID)
	if r.State != "interrupted" || !r.Resumable || r.Epoch < 3 {
		t.Fatalf("after the crash the run is %+v, want interrupted and resumable at epoch ≥ 3", r)
	}
	k := r.Epoch
	if status, body := b.do("POST", "/api/runs/"+victim.ID+"/resume", "wrong", ""); status != http.StatusForbidden {
		t.Errorf("resume without the token: %d %s", status, body)
	}
	if status, body := b.do("POST", "/api/runs/"+victim.ID+"/resume", victim.Token, ""); status != http.StatusOK {
		t.Fatalf("resume: %d %s", status, body)
	}
	b.waitFor(victim.ID, func(r runJSON) bool { return r.State == "done" })
	resumed := epochMetrics(t, b.stream(victim.ID))

	reference := b.create(cfg)
	b.waitFor(reference.ID, func(r runJSON) bool { return r.State == "done" })
	want := epochMetrics(t, b.stream(reference.ID))
	for e := 0; e <= epochs; e++ {
		got, ok := resumed[e]
		if !ok {
			t.Errorf("epoch %d is missing from the resumed run", e)
			continue
		}
		if e <= k {
			continue
		}
		for _, key := range []string{"loss", "knn_accuracy", "alignment", "uniformity", "effective_rank"} {
			if got[key] != want[e][key] {
				t.Errorf("epoch %d %s: resumed %v, uninterrupted %v", e, key, got[key], want[e][key])
			}
		}
	}
}

// TestKillAndRestartOnPostgres is TestKillAndRestart's crash with the runs
// kept in PostgreSQL (--store): the run killed mid-training comes back
// interrupted and resumable from its checkpoint, and resumed it trains to
// its end with every epoch streamed once, in order; the SQLite file is
// never made.
func TestKillAndRestartOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster and explorer processes")
	}
	db := pgtest.Start(t).NewDatabase(t)
	data := t.TempDir()
	a := startChild(t, data, "--store", db)
	const epochs = 10
	victim := a.create(fmt.Sprintf(`{"dataset":"digits","epochs":%d,"batch":32,"hidden":[64],"dim":8,"seed":7}`, epochs))
	a.waitFor(victim.ID, func(r runJSON) bool { return r.Epoch >= 3 })
	a.kill()

	b := startChild(t, data, "--store", db)
	r := b.get(victim.ID)
	if r.State != "interrupted" || !r.Resumable || r.Epoch < 3 {
		t.Fatalf("after the crash the run is %+v, want interrupted and resumable at epoch ≥ 3", r)
	}
	if status, body := b.do("POST", "/api/runs/"+victim.ID+"/resume", victim.Token, ""); status != http.StatusOK {
		t.Fatalf("resume: %d %s", status, body)
	}
	b.waitFor(victim.ID, func(r runJSON) bool { return r.State == "done" })
	got := epochMetrics(t, b.stream(victim.ID))
	for e := 0; e <= epochs; e++ {
		if _, ok := got[e]; !ok {
			t.Errorf("epoch %d is missing from the resumed run's stream", e)
		}
	}
	if len(got) != epochs+1 {
		t.Errorf("the resumed run streams %d epochs, want %d", len(got), epochs+1)
	}
	if _, err := os.Stat(filepath.Join(data, storeFile)); err == nil {
		t.Errorf("--store postgres made the SQLite file %s too", storeFile)
	}
}

// TestUploadsOnPostgresNeedNoSharedDisk uploads a CSV to an explorer
// keeping runs in PostgreSQL, then stops it and starts another on the same
// database with a data folder of its own (the session key copied, as
// replicas share it): the upload is listed for its session only and
// trains there; the first folder never held the file.
func TestUploadsOnPostgresNeedNoSharedDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster and explorer processes")
	}
	db := pgtest.Start(t).NewDatabase(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	a := startChild(t, dataA, "--store", db)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "points.csv")
	io.WriteString(fw, "x,y,label\n")
	for i := range 60 {
		fmt.Fprintf(fw, "%d,%d,%c\n", i%10, i%7, 'a'+i%3)
	}
	mw.Close()
	res, err := client.Post(a.url+"api/datasets", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var up struct{ ID string }
	if err := json.Unmarshal(b, &up); err != nil || res.StatusCode != http.StatusCreated || up.ID == "" {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
	if kept, _ := filepath.Glob(filepath.Join(dataA, uploadsDir, "*", "*")); len(kept) != 0 {
		t.Errorf("the first replica's folder holds %v, want nothing (the file is in PostgreSQL)", kept)
	}
	a.kill()

	key, err := os.ReadFile(filepath.Join(dataA, sessionKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataB, sessionKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, dataB, "--store", db)
	list := func(cl *http.Client) string {
		res, err := cl.Get(c.url + "api/datasets")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if !strings.Contains(list(client), up.ID) {
		t.Fatalf("the other replica does not list the session's upload %s", up.ID)
	}
	if strings.Contains(list(&http.Client{Timeout: 30 * time.Second}), up.ID) {
		t.Errorf("another session sees the upload %s", up.ID)
	}
	req, _ := http.NewRequest("POST", c.url+"api/runs", strings.NewReader(`{"dataset":"`+up.ID+`","epochs":2,"batch":16,"hidden":[8],"dim":2}`))
	req.Header.Set("Content-Type", "application/json")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	var r runJSON
	if err := json.Unmarshal(b, &r); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("a run on the upload, on the other replica: %d %s", res.StatusCode, b)
	}
	c.waitFor(r.ID, func(r runJSON) bool { return r.State == "done" })
	c.stream(r.ID) // to its end: every epoch projected and stored
	c.kill()

	// The CLI reads the same store from a third folder: the run listed,
	// its upload-backed coordinates exported.
	var listed bytes.Buffer
	if err := run(context.Background(), []string{"runs", "list", "--store", db, "--data", t.TempDir()}, &listed, io.Discard); err != nil || !strings.Contains(listed.String(), r.ID) {
		t.Errorf("runs list --store: %v\n%s", err, listed.String())
	}
	out := filepath.Join(t.TempDir(), "coords.csv")
	if err := run(context.Background(), []string{"export", "--store", db, "--data", t.TempDir(), "--format", "coords.csv", "--out", out, r.ID}, io.Discard, io.Discard); err != nil {
		t.Fatalf("export --store: %v", err)
	}
	if b, err := os.ReadFile(out); err != nil || bytes.Count(b, []byte("\n")) != 1+3*60 {
		t.Errorf("the exported coordinates: %d lines, %v; want a header and 60 items × 3 epochs", bytes.Count(b, []byte("\n")), err)
	}
}

// TestSecondReplicaLeavesRunsAlone starts a second explorer (its own data
// folder, so its own replica id) on the PostgreSQL store of one that is
// training a run: the newcomer must not take the live run for one a crash
// left, and the run trains to its end on the first.
func TestSecondReplicaLeavesRunsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster and explorer processes")
	}
	db := pgtest.Start(t).NewDatabase(t)
	a := startChild(t, t.TempDir(), "--store", db)
	live := a.create(`{"dataset":"digits","epochs":25,"batch":32,"hidden":[64],"dim":8,"seed":3}`)
	a.waitFor(live.ID, func(r runJSON) bool { return r.Epoch >= 2 })
	b := startChild(t, t.TempDir(), "--store", db)
	if r := b.get(live.ID); r.State == "interrupted" {
		t.Fatalf("the second replica marked the first's live run interrupted: %+v", r)
	}
	if r := a.waitFor(live.ID, func(r runJSON) bool { return r.State == "done" || r.State == "interrupted" }); r.State != "done" {
		t.Errorf("the first replica's run ended %s, want done", r.State)
	}
	if out := b.out.String(); !strings.Contains(out, "run left to its replica") {
		t.Errorf("the second replica's log does not say it left the run alone:\n%s", out)
	}
}

// TestKillNeverCorruptsTheStore kills the explorer at random moments while
// runs train and are created, then checks the database's integrity.
func TestKillNeverCorruptsTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills explorer processes")
	}
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		c := startChild(t, data)
		for range 2 {
			c.create(`{"dataset":"digits","epochs":50,"batch":32,"hidden":[32],"dim":8}`)
		}
		time.Sleep(time.Duration(50+rng.IntN(700)) * time.Millisecond)
		c.kill()
		t.Logf("round %d: killed", round)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.IntegrityCheck(context.Background()); err != nil {
		t.Fatalf("after 5 crashes: %v", err)
	}
}
