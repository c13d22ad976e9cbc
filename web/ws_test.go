package web

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// wsMsg is one logical message as a client sees it: a text message, plus
// for epochs the binary frame that follows it.
type wsMsg struct {
	Type          string          `json:"type"`
	Epoch         int             `json:"epoch"`
	Backfill      bool            `json:"backfill"`
	State         run.State       `json:"state"`
	QueuePosition int             `json:"queue_position"`
	Epochs        int             `json:"epochs"`
	Method        string          `json:"method"`
	Dims          int             `json:"dims"`
	Run           RunSummary      `json:"run"`
	Dataset       json.RawMessage `json:"dataset"`
	Frame         frameInfo       `json:"frame"`
	Metrics       json.RawMessage `json:"metrics"`
	SentMS        int64           `json:"sent_ms"`
	Viewers       *int            `json:"viewers"`
	View          ProjectionJSON  `json:"view"`
	OwnView       bool            `json:"own_view"`
	coords        []float32
}

type dialOptions struct {
	readBuffer int    // the client socket's receive buffer, 0 for the default
	suffix     string // after /ws/runs/{id}, e.g. "/follow"
}

func dial(t *testing.T, ts *testServer, id string, o dialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts websocket.DialOptions
	if o.readBuffer > 0 {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					err = c.(*net.TCPConn).SetReadBuffer(o.readBuffer)
				}
				return c, err
			},
		}}
	}
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws/runs/" + id + o.suffix
	conn, _, err := websocket.Dial(ctx, url, &opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	conn.SetReadLimit(-1)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// next reads the next logical message. At the end of the stream it returns
// ok false and the close status.
func next(t *testing.T, conn *websocket.Conn) (m wsMsg, status websocket.StatusCode, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		if s := websocket.CloseStatus(err); s != -1 {
			return m, s, false
		}
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a binary message where a text message was due")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	if m.Type != "epoch" {
		return m, 0, true
	}
	typ, b, err = conn.Read(ctx)
	if err != nil || typ != websocket.MessageBinary {
		t.Fatalf("epoch %d: want its binary frame, got type %v, err %v", m.Epoch, typ, err)
	}
	m.coords = decodeFrame(t, b, m.Epoch)
	return m, 0, true
}

// decodeFrame checks a binary frame's header and returns its coordinates.
func decodeFrame(t *testing.T, b []byte, epoch int) []float32 {
	t.Helper()
	if len(b) < frameHeader || string(b[:4]) != frameMagic {
		t.Fatalf("epoch %d: bad frame header % x", epoch, b[:min(len(b), 16)])
	}
	e, n, dims := binary.LittleEndian.Uint32(b[4:]), int(binary.LittleEndian.Uint32(b[8:])), int(b[12])
	if int(e) != epoch || (dims != 2 && dims != 3) || len(b) != frameHeader+4*n*dims {
		t.Fatalf("frame header: epoch %d (want %d), n %d, dims %d, %d bytes", e, epoch, n, dims, len(b))
	}
	coords := make([]float32, n*dims)
	for i := range coords {
		coords[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[frameHeader+4*i:]))
		if math.IsNaN(float64(coords[i])) || math.IsInf(float64(coords[i]), 0) {
			t.Fatalf("epoch %d: coordinate %d is %v", epoch, i, coords[i])
		}
	}
	// The bulk fills the view: the 99th percentile of the points' largest
	// coordinate is frameFill (read off a sample, so nearly).
	if n > 1 {
		reach := make([]float64, n)
		for i := range n {
			for k := range dims {
				reach[i] = max(reach[i], math.Abs(float64(coords[i*dims+k])))
			}
		}
		slices.Sort(reach)
		if q := reach[int(math.Ceil(0.99*float64(n)))-1]; q > 0 && (q < frameFill-0.05 || q > frameFill+0.05) {
			t.Fatalf("epoch %d: 99%% of the points lie within %.3f, want the bulk scaled to %v", epoch, q, frameFill)
		}
	}
	return coords
}

// readToEnd reads messages until the server closes the connection.
func readToEnd(t *testing.T, conn *websocket.Conn) ([]wsMsg, websocket.StatusCode) {
	t.Helper()
	var msgs []wsMsg
	for {
		m, status, ok := next(t, conn)
		if !ok {
			return msgs, status
		}
		msgs = append(msgs, m)
	}
}

func expectType(t *testing.T, conn *websocket.Conn, typ string) wsMsg {
	t.Helper()
	m, status, ok := next(t, conn)
	if !ok || m.Type != typ {
		t.Fatalf("got %q (closed with %v), want %q", m.Type, status, typ)
	}
	return m
}

// checkStream checks a whole stream: hello, the history in epoch order,
// live, then epochs whose live ones rise, done last, and every epoch
// 0..epochs seen, but for live epochs conflated away (docs/protocol.md:
// while a live epoch waits for a slow client, a newer live epoch replaces
// it). So an epoch may be missing only if it is not in the history, no
// backfill brought it, and a newer live epoch came after live; a late
// joiner gets it (see checkHistory). It returns the messages after live.
func checkStream(t *testing.T, msgs []wsMsg, status websocket.StatusCode, epochs int, n int) []wsMsg {
	t.Helper()
	if status != websocket.StatusNormalClosure {
		t.Errorf("closed with %v, want 1000", status)
	}
	if len(msgs) < 3 || msgs[0].Type != "hello" || msgs[len(msgs)-1].Type != "done" {
		t.Fatalf("stream of %d messages does not go hello … done: %v", len(msgs), types(msgs))
	}
	var ds datasetHello
	if err := json.Unmarshal(msgs[0].Dataset, &ds); err != nil || ds.Items != n || len(ds.Labels) != n || len(ds.Splits) != n {
		t.Fatalf("hello's dataset: %v, %d items, %d labels, %d splits", err, ds.Items, len(ds.Labels), len(ds.Splits))
	}
	seen := make(map[int]bool)
	live, lastLive, lastHistory := false, -1, -1
	var after []wsMsg
	for _, m := range msgs[1 : len(msgs)-1] {
		switch m.Type {
		case "live":
			if live {
				t.Fatalf("live twice")
			}
			live = true
			continue
		case "epoch":
			seen[m.Epoch] = true
			if m.SentMS < since2026 {
				t.Fatalf("epoch %d: sent_ms %d is no recent Unix time in milliseconds", m.Epoch, m.SentMS)
			}
			if len(m.coords) != n*m.Frame.Dims {
				t.Fatalf("epoch %d: %d coordinates for %d points in %d dims", m.Epoch, len(m.coords), n, m.Frame.Dims)
			}
			var met struct {
				Loss    *float64 `json:"loss"`
				HistMax float64  `json:"hist_max"`
				PosHist []int    `json:"pos_hist"`
			}
			if err := json.Unmarshal(m.Metrics, &met); err != nil || met.Loss == nil || met.HistMax != run.HistMax || met.PosHist == nil {
				t.Fatalf("epoch %d metrics %s: %v", m.Epoch, m.Metrics, err)
			}
			switch {
			case !live:
				if m.Epoch <= lastHistory {
					t.Fatalf("history epoch %d after %d", m.Epoch, lastHistory)
				}
				lastHistory = m.Epoch
			case !m.Backfill:
				if m.Epoch <= lastLive {
					t.Fatalf("live epoch %d after %d", m.Epoch, lastLive)
				}
				lastLive = m.Epoch
			}
		case "state", "projection", "error":
		default:
			t.Fatalf("unexpected message %q", m.Type)
		}
		if live {
			after = append(after, m)
		}
	}
	if !live {
		t.Fatalf("no live message: %v", types(msgs))
	}
	for e := 0; e <= epochs; e++ {
		if !seen[e] && e >= lastLive {
			t.Errorf("epoch %d never arrived, and no newer live epoch replaced it: %v", e, types(msgs))
		}
	}
	return after
}

// checkHistory connects to a run whose stream is complete and checks that
// its history holds every epoch 0..epochs once, in order, in the run's
// current projection: what a viewer whose live frames were conflated gets
// by reconnecting.
func checkHistory(t *testing.T, ts *testServer, id string, epochs, n int) []wsMsg {
	t.Helper()
	msgs, status := readToEnd(t, dial(t, ts, id, dialOptions{}))
	if after := checkStream(t, msgs, status, epochs, n); len(after) != 0 {
		t.Errorf("between live and done, the late joiner got %v; want nothing", types(after))
	}
	var history []int
	for _, m := range msgs {
		if m.Type == "live" {
			break
		}
		if m.Type == "epoch" {
			if p := msgs[0].Run.Projection; m.Frame.Method != p.Method || m.Frame.Dims != p.Dims {
				t.Errorf("history epoch %d in %s %dD, the run's projection is %+v", m.Epoch, m.Frame.Method, m.Frame.Dims, p)
			}
			history = append(history, m.Epoch)
		}
	}
	if len(history) != epochs+1 {
		t.Fatalf("late joiner's history %v, want epochs 0..%d", history, epochs)
	}
	for i, e := range history {
		if e != i {
			t.Fatalf("late joiner's history %v out of order", history)
		}
	}
	return msgs
}

// since2026 is 2026-01-01 in Unix milliseconds: every sent_ms is later.
const since2026 = 1_767_225_600_000

// types summarises a stream for failure messages: epoch3, backfill epoch
// 5 as epoch*5.
func types(msgs []wsMsg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Type
		if m.Type == "epoch" {
			mark := ""
			if m.Backfill {
				mark = "*"
			}
			out[i] = fmt.Sprintf("epoch%s%d", mark, m.Epoch)
		}
	}
	return out
}

// TestStreamRealTrainer watches a real training run on digits from the
// start: hello, the history so far, live, the remaining epochs as they are
// trained, done and a normal close.
func TestStreamRealTrainer(t *testing.T) {
	ts := newTestServer(t, Options{})
	c := createRun(t, ts, quickConfig(3))
	// Hold training so that part of the stream is history and part live.
	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/pause", nil, c.Token); a.status != http.StatusOK {
		t.Fatalf("pause: %d %s", a.status, a.body)
	}
	conn := dial(t, ts, c.ID, dialOptions{})
	hello := expectType(t, conn, "hello")
	if hello.Run.ID != c.ID || hello.Run.Epochs != 3 {
		t.Fatalf("hello: %+v", hello.Run)
	}
	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/resume", nil, c.Token); a.status != http.StatusOK {
		t.Fatalf("resume: %d %s", a.status, a.body)
	}
	msgs, status := readToEnd(t, conn)
	after := checkStream(t, append([]wsMsg{hello}, msgs...), status, 3, 1797)
	var liveEpochs int
	for _, m := range after {
		if m.Type == "epoch" {
			liveEpochs++
		}
	}
	if liveEpochs == 0 {
		t.Errorf("every epoch came as history; none live")
	}
	if done := msgs[len(msgs)-1]; done.State != run.Done || done.Epochs != 3 {
		t.Errorf("done: %+v", done)
	}
	checkHistory(t, ts, c.ID, 3, 1797)
}

// TestStreamLive checks that epochs arrive live and in order as training
// produces them.
func TestStreamLive(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, map[string]any{"epochs": 3, "dim": 4})
	conn := dial(t, ts, c.ID, dialOptions{})
	expectType(t, conn, "hello")
	// Epoch 0 may come before or after live, depending on timing.
	for {
		m := expectAny(t, conn)
		if m.Type == "epoch" {
			if m.Epoch != 0 {
				t.Fatalf("first epoch %d", m.Epoch)
			}
			break
		}
	}
	for e := 1; e <= 3; e++ {
		gate <- struct{}{}
		for {
			m := expectAny(t, conn)
			if m.Type == "live" || m.Type == "state" {
				continue
			}
			if m.Type != "epoch" || m.Epoch != e || m.Backfill {
				t.Fatalf("want live epoch %d, got %q %d backfill=%v", e, m.Type, m.Epoch, m.Backfill)
			}
			break
		}
	}
	msgs, status := readToEnd(t, conn)
	if status != websocket.StatusNormalClosure || len(msgs) == 0 || msgs[len(msgs)-1].Type != "done" {
		t.Fatalf("end of stream: %v, closed %v", types(msgs), status)
	}
}

func expectAny(t *testing.T, conn *websocket.Conn) wsMsg {
	t.Helper()
	m, status, ok := next(t, conn)
	if !ok {
		t.Fatalf("closed with %v", status)
	}
	return m
}

// TestLateJoiner connects after the run has ended: the full history, live,
// done and a normal close.
func TestLateJoiner(t *testing.T) {
	ts := newTestServer(t, Options{NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, quickConfig(3))
	// A first viewer reads to the end: then training and projection are
	// over.
	first := dial(t, ts, c.ID, dialOptions{})
	msgs, status := readToEnd(t, first)
	checkStream(t, msgs, status, 3, 1797)
	sent := make(map[int]int64)
	for _, m := range msgs {
		if m.Type == "epoch" {
			sent[m.Epoch] = m.SentMS
		}
	}
	for range 2 {
		// The replayed frames keep the time they were first sent.
		for _, m := range checkHistory(t, ts, c.ID, 3, 1797) {
			if want, ok := sent[m.Epoch]; ok && m.Type == "epoch" && m.SentMS != want {
				t.Errorf("epoch %d replayed with sent_ms %d, first sent at %d", m.Epoch, m.SentMS, want)
			}
		}
	}
}

// TestBackfill makes projection slower than training: the live view skips
// epochs and the skipped ones arrive as backfill, so every epoch is there
// in the end, and a late joiner's history has them all in order.
func TestBackfill(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.SlowProjectors(40 * time.Millisecond)})
	const epochs = 12
	c := createRun(t, ts, map[string]any{"epochs": epochs, "dim": 4})
	conn := dial(t, ts, c.ID, dialOptions{})
	close(gate) // train every remaining epoch at once
	msgs, status := readToEnd(t, conn)
	after := checkStream(t, msgs, status, epochs, 1797)
	backfilled := 0
	for _, m := range after {
		if m.Type == "epoch" && m.Backfill {
			backfilled++
		}
	}
	if backfilled == 0 {
		t.Errorf("no epoch was backfilled although projection lags: %v", types(msgs))
	}

	checkHistory(t, ts, c.ID, epochs, 1797)
}

// stallTimeout is TestStalledClient's write timeout: how long the server's
// write to the stalled client blocks before it gives up.
const stallTimeout = 2 * time.Minute

// TestStalledClient connects a client that never reads, with a tiny socket
// buffer so the server's writes to it block at once. Training, projection
// and a second, reading client must not notice; the stalled client's live
// frames are conflated.
func TestStalledClient(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{
		NewTrainer:   runnertest.Trainers(gate),
		NewProjector: runnertest.ColumnProjectors,
		WriteTimeout: stallTimeout, // a hub that waited for the stalled client would hang the test
	})
	// 60 frames of 12000 points in 3D, 8.6 MB, overflow the socket buffers
	// (the server's send buffer grows to 4 MB).
	const epochs = 60
	c := createRun(t, ts, map[string]any{"dataset": "fashion", "epochs": epochs, "dim": 8, "batch": 64, "dims": 3})
	stalled := dial(t, ts, c.ID, dialOptions{readBuffer: 4096})
	healthy := dial(t, ts, c.ID, dialOptions{})

	// One epoch at a time, each released when the healthy client has seen
	// the previous one live: every epoch is a live frame for the stalled
	// client too.
	start := time.Now()
	var msgs []wsMsg
	for e := 0; e <= epochs; e++ {
		if e > 0 {
			gate <- struct{}{}
		}
		for {
			m := expectAny(t, healthy)
			msgs = append(msgs, m)
			if m.Type == "epoch" && m.Epoch == e && !m.Backfill {
				break
			}
		}
	}
	rest, status := readToEnd(t, healthy)
	checkStream(t, append(msgs, rest...), status, epochs, 12000)
	// Not a wall-clock budget, which a loaded machine may exceed: a hub
	// that waited for the stalled client would wait for a write to it to
	// time out, stallTimeout, at least once (and each read above would
	// give up after 20 s first).
	if d := time.Since(start); d >= stallTimeout {
		t.Errorf("the healthy client took %v, as long as a write to the stalled client may block", d)
	}
	waitState(t, ts, c.ID, run.Done)

	// The stalled viewer is still subscribed, its writer blocked, its
	// pending live frames replaced by newer ones.
	r, err := ts.runs.Get(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := hubOf(r)
	// The healthy viewer's handler unsubscribes once its close handshake
	// is over.
	var stuck *subscriber
	for deadline := time.Now().Add(5 * time.Second); ; {
		h.mu.Lock()
		n := len(h.subs)
		for s := range h.subs {
			stuck = s
		}
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers left, want the stalled one", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stuck.mu.Lock()
	skipped, pending := stuck.skipped, len(stuck.queue)
	stuck.mu.Unlock()
	if skipped == 0 {
		t.Errorf("the stalled client skipped no live frame")
	}
	if pending > 3 {
		t.Errorf("%d messages pending for the stalled client; live frames should conflate", pending)
	}
	stalled.CloseNow()
}

// TestQueuePositions runs with MaxRuns 1: later runs wait in order, and a
// viewer of a queued run hears its position change.
func TestQueuePositions(t *testing.T) {
	gate := make(chan struct{})
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(gate), NewProjector: runnertest.ColumnProjectors, MaxRuns: 1})
	cfg := map[string]any{"epochs": 2, "dim": 4}
	a := createRun(t, ts, cfg)
	b := createRun(t, ts, cfg)
	c := createRun(t, ts, cfg)
	if a.State != run.Running || b.QueuePosition != 1 || c.QueuePosition != 2 {
		t.Fatalf("states %s/%d %s/%d %s/%d", a.State, a.QueuePosition, b.State, b.QueuePosition, c.State, c.QueuePosition)
	}
	conn := dial(t, ts, c.ID, dialOptions{})
	hello := expectType(t, conn, "hello")
	if hello.Run.State != run.Queued || hello.Run.QueuePosition != 2 {
		t.Fatalf("hello of the third run: %s at %d", hello.Run.State, hello.Run.QueuePosition)
	}
	expectType(t, conn, "live")

	stop := func(r created) {
		t.Helper()
		if ans := call(t, ts, "POST", "/api/runs/"+r.ID+"/stop", nil, r.Token); ans.status != http.StatusOK {
			t.Fatalf("stop: %d %s", ans.status, ans.body)
		}
	}
	stop(a) // b starts, c moves up
	m := expectType(t, conn, "state")
	if m.State != run.Queued || m.QueuePosition != 1 {
		t.Fatalf("after the first run stopped: %s at %d, want queued at 1", m.State, m.QueuePosition)
	}
	waitState(t, ts, b.ID, run.Running)
	stop(b) // c starts
	m = expectType(t, conn, "state")
	if m.State != run.Running || m.QueuePosition != 0 {
		t.Fatalf("after the second run stopped: %s at %d, want running", m.State, m.QueuePosition)
	}
	gate <- struct{}{}
	gate <- struct{}{}
	msgs, status := readToEnd(t, conn)
	if status != websocket.StatusNormalClosure || msgs[len(msgs)-1].Type != "done" || msgs[len(msgs)-1].State != run.Done {
		t.Fatalf("end of the third run's stream: %v closed %v", types(msgs), status)
	}
}

// TestShutdownClosesWebsockets cancels the server's context under an open
// stream: the viewer gets close status 1001 (going away).
func TestShutdownClosesWebsockets(t *testing.T) {
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(make(chan struct{})), NewProjector: runnertest.ColumnProjectors})
	c := createRun(t, ts, map[string]any{"epochs": 5, "dim": 4})
	conn := dial(t, ts, c.ID, dialOptions{})
	expectType(t, conn, "hello")
	ts.cancel()
	done := make(chan struct{})
	go func() { ts.Wait(); close(done) }()
	for {
		_, status, ok := next(t, conn)
		if !ok {
			if status != websocket.StatusGoingAway {
				t.Fatalf("closed with %v, want 1001", status)
			}
			break
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("server still busy 10 s after shutdown")
	}
	if got := call(t, ts, "POST", "/api/runs", map[string]any{"epochs": 1}, ""); got.status != http.StatusServiceUnavailable {
		t.Errorf("creating a run after shutdown: %d, want 503", got.status)
	}
}

// TestProjectionChange switches a finished run to another projection:
// every epoch is projected again, the newest first (live), then the rest
// oldest first (backfill), and a viewer ends up with each epoch's frame in
// the new method before done.
func TestProjectionChange(t *testing.T) {
	ts := newTestServer(t, Options{NewTrainer: runnertest.Trainers(nil), NewProjector: runnertest.ColumnProjectors})
	const epochs = 4
	c := createRun(t, ts, map[string]any{"epochs": epochs, "dim": 4})
	msgs, status := readToEnd(t, dial(t, ts, c.ID, dialOptions{}))
	checkStream(t, msgs, status, epochs, 1797)
	checkHistory(t, ts, c.ID, epochs, 1797)

	if a := call(t, ts, "POST", "/api/runs/"+c.ID+"/projection", `{"method":"tsne","dims":3}`, c.Token); a.status != http.StatusOK {
		t.Fatalf("projection: %d %s", a.status, a.body)
	}
	// The viewer joins while the re-projection may be under way: what was
	// re-projected already comes in the history, the rest after live.
	msgs, status = readToEnd(t, dial(t, ts, c.ID, dialOptions{}))
	checkStream(t, msgs, status, epochs, 1797)
	latest := make(map[int]frameInfo)
	live := false
	var reprojected []int // epochs in the new method after live, in arrival order
	for _, m := range msgs {
		switch {
		case m.Type == "live":
			live = true
		case m.Type == "epoch":
			latest[m.Epoch] = m.Frame
			if live && m.Frame.Method == run.MethodTSNE && m.Frame.Dims == 3 {
				reprojected = append(reprojected, m.Epoch)
			}
		}
	}
	for e := 0; e <= epochs; e++ {
		if f := latest[e]; f.Method != run.MethodTSNE || f.Dims != 3 {
			t.Errorf("epoch %d ends as %s in %dD, want tsne in 3D: %v", e, f.Method, f.Dims, types(msgs))
		}
	}
	order := []int{epochs} // the newest first, then the rest oldest first
	for e := range epochs {
		order = append(order, e)
	}
	if !slices.Equal(reprojected, order[len(order)-len(reprojected):]) {
		t.Errorf("re-projected epochs after live came as %v, want the end of %v", reprojected, order)
	}
	if hello := msgs[0]; hello.Run.Projection != (ProjectionJSON{Method: run.MethodTSNE, Dims: 3}) {
		t.Errorf("hello after the change: projection %+v", hello.Run.Projection)
	}
	checkHistory(t, ts, c.ID, epochs, 1797)
}
