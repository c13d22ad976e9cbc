//go:build browserbench

package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/contrastive-explorer/explorer/static"
	"github.com/contrastive-explorer/explorer/views"
	"github.com/contrastive-explorer/explorer/web"
)

// The live explorer's performance in headless Chromium, for
// docs/benchmarks.md ("Live explorer (browser)"):
//
//	go test -tags browserbench -run TestBrowserBench -v -count=1 -timeout 10m ./web/
//
// Headless Chromium draws WebGL with SwiftShader, on the CPU: a real GPU
// draws the points much faster, so these figures are a floor, not what a
// classroom laptop shows.

// benchFigures collects the figures of one benchmark run, printed together
// at the end.
type benchFigures struct {
	mu    sync.Mutex
	lines []string
}

func (f *benchFigures) add(format string, args ...any) {
	f.mu.Lock()
	f.lines = append(f.lines, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// stats summarises durations in milliseconds: median, 90th percentile, max.
func stats(ms []float64) string {
	if len(ms) == 0 {
		return "no samples"
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)] }
	return fmt.Sprintf("median %.1f ms, p90 %.1f ms, max %.1f ms (n=%d)", q(0.5), q(0.9), s[len(s)-1], len(s))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestBrowserBench(t *testing.T) {
	figs := &benchFigures{}
	t.Cleanup(func() {
		t.Logf("machine: %s, %d CPUs, %s %s/%s", cpuName(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		for _, l := range figs.lines {
			t.Log(l)
		}
	})
	t.Run("TrainToFirstFrame", func(t *testing.T) { benchTrainToFirstFrame(t, figs) })
	t.Run("Fashion", func(t *testing.T) { benchFashion(t, figs) })
	for _, n := range []int{1797, 10_000, 70_000} {
		t.Run(fmt.Sprintf("Synthetic%d", n), func(t *testing.T) { benchSynthetic(t, figs, n) })
	}
}

// benchTrainToFirstFrame presses Train on the home page for digits and
// times, in wall-clock time, the click until the scatter has drawn the first
// frame; then it watches the live epochs and times each one from the
// server's publishing it (the epoch message's sent_ms; server and browser
// share this machine's clock) and from the arrival of its frame on the
// websocket to the render that draws it.
func benchTrainToFirstFrame(t *testing.T, figs *benchFigures) {
	url := startExplorer(t, web.Options{MaxRuns: 8})
	b := newBrowser(t, nil)
	// Stopping a run that has just finished answers 409: that is fine here.
	b.problems.allow("/stop:")
	var firsts, pages, readies, hellos, arrives []float64
	var latencies, sinceSent []float64
	const runs = 5
	for k := range runs {
		b.step("home page", 15*time.Second,
			chromedp.Navigate(url+"/"),
			chromedp.WaitVisible(tid("train-button")),
			chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="digits"]`)),
			chromedp.SetValue(tid("field-epochs"), "40"),
		)
		// The click's time is kept across the navigation it causes.
		b.eval("press Train", `(() => {
			sessionStorage.setItem("bench.t0", String(Date.now()));
			document.querySelector('[data-testid="train-button"]').click();
			return true;
		})()`, nil)
		b.poll("first frame", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.timings().firstDrawnWall > 0`, 30*time.Second)
		var split struct{ Total, Page, Ready, Hello, Arrive float64 }
		b.eval("time to first frame", `(() => {
			const t = window.explorer.timings(), t0 = Number(sessionStorage.getItem("bench.t0"));
			const f = t.frames.length ? t.frames[0] : null;
			return {
				total: t.firstDrawnWall - t0,
				page: performance.timeOrigin - t0,
				ready: performance.timeOrigin + performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd - t0,
				hello: performance.timeOrigin + t.hello - t0,
				arrive: f ? performance.timeOrigin + f.received - t0 : -1,
			};
		})()`, &split)
		firsts = append(firsts, split.Total)
		pages = append(pages, split.Page)
		readies = append(readies, split.Ready)
		hellos = append(hellos, split.Hello)
		arrives = append(arrives, split.Arrive)
		if k == 0 {
			b.shot("bench-first-frame")
		}
		// Watch a few live epochs for the arrival-to-screen latency.
		b.poll("live epochs", `window.explorer.timings().frames.length >= 8 || window.explorer.state() === "done"`, 60*time.Second)
		var frames []struct {
			Received, Drawn float64
			SinceSent       *float64
		}
		b.eval("timings", `window.explorer.timings().frames`, &frames)
		for _, f := range frames {
			latencies = append(latencies, f.Drawn-f.Received)
			if f.SinceSent == nil {
				t.Fatalf("a live frame without sinceSent: the epoch message lacks sent_ms")
			}
			sinceSent = append(sinceSent, *f.SinceSent)
		}
		b.eval("stop", `fetch("/api/runs/" + window.explorer.runID + "/stop", {method: "POST",
			headers: {Authorization: "Bearer " + localStorage.getItem("explorer.token." + window.explorer.runID)}}).then(() => true)`, nil)
	}
	figs.add("digits, Train pressed → first frame drawn: median %.0f ms over %d runs (each: %s)", median(firsts), runs, joinMS(firsts))
	figs.add("  medians from the click: run page starts loading (POST /api/runs, navigation) %.0f ms; page and scripts loaded %.0f ms; websocket hello %.0f ms; epoch 0's frame arrives (the server has trained, measured and projected epoch 0) %.0f ms",
		median(pages), median(readies), median(hellos), median(arrives))
	figs.add("digits, live epoch frame arrival → drawn (real server): %s", stats(latencies))
	figs.add("digits, live epoch published by the server (sent_ms) → drawn (real server, Date.now() at the draw − sent_ms): %s", stats(sinceSent))
	b.noProblems()
}

// benchFashion trains on Fashion-MNIST (12,000 points) and counts
// animation frames while the points glide from one epoch to the next: the
// frame rate of interpolation on the real data and server.
func benchFashion(t *testing.T, figs *benchFigures) {
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(tid("train-button")),
		chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="fashion"]`)),
		chromedp.SetValue(tid("field-epochs"), "30"),
		chromedp.Click(tid("train-button")),
	)
	b.poll("first frame", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.epoch() !== null`, 60*time.Second)
	b.eval("count glide frames", `(() => {
		window.bench = {frames: 0, ms: 0, glides: 0};
		let last = 0, was = false;
		const tick = (now) => {
			const gliding = !window.explorer.settled();
			if (gliding && was) { window.bench.frames++; window.bench.ms += now - last; }
			if (gliding && !was) window.bench.glides++;
			was = gliding;
			last = now;
			requestAnimationFrame(tick);
		};
		requestAnimationFrame(tick);
		return true;
	})()`, nil)
	b.poll("glides", `window.bench.glides >= 6`, 3*time.Minute)
	var c struct{ Frames, Ms, Glides float64 }
	b.eval("glide frames", `window.bench`, &c)
	figs.add("fashion (12,000 points), live training: %.1f animation frames/s while gliding (%d frames over %d glides)", 1000*c.Frames/c.Ms, int(c.Frames), int(c.Glides))
	b.noProblems()
}

func joinMS(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ") + " ms"
}

// benchSynthetic serves a synthetic run of n points from a small fake
// server in the test process (the real page and scripts, a websocket that
// speaks the protocol) and measures, while frames arrive every 400 ms so
// the points glide without pause: the frame rate (requestAnimationFrame
// callbacks per second and scatter renders per second), the latency from
// the server's send to the render that draws the frame (wall clock, one
// machine), and how fast hovering a point brings up its tooltip.
func benchSynthetic(t *testing.T, figs *benchFigures, n int) {
	const (
		every  = 400 * time.Millisecond
		epochs = 16
	)
	fake := newFakeRun(n, epochs, every)
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	b := newBrowser(t, nil)
	b.step("open run", 20*time.Second, chromedp.Navigate(ts.URL+"/runs/fake"))
	b.poll("first frame", `window.explorer && window.explorer.timings().firstDrawnWall > 0`, 30*time.Second)

	// The page's clock against the test's, for send → drawn below.
	offset := clockOffset(b)

	// Count animation frames while the stream glides the points.
	b.eval("count frames", `(() => {
		window.bench = {raf: 0, start: 0, end: 0, renders0: 0, renders1: 0, gaps: []};
		let last = 0;
		const tick = (now) => {
			if (!window.bench.start) { window.bench.start = now; window.bench.renders0 = window.explorer.timings().renders; }
			else window.bench.gaps.push(now - last);
			last = now;
			window.bench.raf++;
			if (!window.bench.stop) requestAnimationFrame(tick);
			else { window.bench.end = now; window.bench.renders1 = window.explorer.timings().renders; }
		};
		requestAnimationFrame(tick);
		return true;
	})()`, nil)
	fake.start()
	<-fake.done
	b.eval("stop counting", `new Promise((ok) => {
		window.bench.stop = true;
		const wait = () => (window.bench.end > 0 ? ok(true) : setTimeout(wait, 20));
		wait();
	})`, nil)
	var counts struct {
		Raf, Start, End, Renders0, Renders1 float64
		Gaps                                []float64
	}
	b.eval("frame counts", `window.bench`, &counts)
	secs := (counts.End - counts.Start) / 1000
	fps := counts.Raf / secs
	renders := (counts.Renders1 - counts.Renders0) / secs
	slices.Sort(counts.Gaps)
	worst := 0.0
	if len(counts.Gaps) > 0 {
		worst = counts.Gaps[len(counts.Gaps)-1]
	}
	figs.add("%d points gliding (a frame every %v for %.1f s): %.1f animation frames/s, %.1f scatter renders/s, longest frame %.0f ms", n, every, secs, fps, renders, worst)

	// Send → drawn, wall clock.
	var frames []struct {
		Epoch           int
		Received, Drawn float64
	}
	b.eval("timings", `window.explorer.timings().frames.map((f) => ({epoch: f.epoch, received: performance.timeOrigin + f.received, drawn: performance.timeOrigin + f.drawn}))`, &frames)
	var sendToDraw, arriveToDraw []float64
	for _, f := range frames {
		if sent, ok := fake.sentAt(f.Epoch); ok {
			sendToDraw = append(sendToDraw, f.Drawn-offset-sent)
		}
		arriveToDraw = append(arriveToDraw, f.Drawn-f.Received)
	}
	figs.add("%d points, epoch sent by the server → drawn: %s; of which arrival on the page → drawn: %s (clocks %.1f ms apart)", n, stats(sendToDraw), stats(arriveToDraw), offset)
	b.shot(fmt.Sprintf("bench-%d", n))

	// Hover: from the mouse event to the tooltip on screen, points at rest.
	b.poll("settled", `window.explorer.settled()`, 5*time.Second)
	var hovers []float64
	for k := range 5 {
		var at struct{ X, Y float64 }
		b.eval("a point", fmt.Sprintf(`(() => { const p = window.explorer.screenOf(%d); return {x: p.x, y: p.y}; })()`, (k*7919)%n), &at)
		b.eval("watch tooltip", `(() => {
			const tip = document.querySelector('[data-testid="tooltip"]');
			tip.hidden = true;
			window.hoverMs = -1;
			const overlay = document.querySelector('.scatter-overlay');
			overlay.addEventListener('pointermove', (ev) => {
				const t0 = ev.timeStamp;
				requestAnimationFrame(() => {
					if (!tip.hidden) window.hoverMs = performance.now() - t0;
				});
			}, {once: true});
			return true;
		})()`, nil)
		b.step("hover", 10*time.Second,
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X+0.5, at.Y+0.5),
		)
		b.poll("tooltip timed", `window.hoverMs >= 0`, 5*time.Second)
		var ms float64
		b.eval("hover time", `window.hoverMs`, &ms)
		hovers = append(hovers, ms)
	}
	figs.add("%d points at rest, mouse move → tooltip shown (next animation frame): %s", n, stats(hovers))
	b.shot(fmt.Sprintf("bench-%d-hover", n))
	b.noProblems()
}

// fakeRun is a server for one synthetic run, "fake": the real run page and
// scripts, and a websocket that sends hello, live, then epochs of n points
// in 10 drifting clusters, one every interval once start is called.
type fakeRun struct {
	n, epochs int
	every     time.Duration
	labels    []int32
	frames    [][]byte // binary frame of each epoch
	mux       *http.ServeMux
	go_       chan struct{}
	done      chan struct{}
	once      sync.Once

	mu   sync.Mutex
	sent map[int]float64 // epoch -> wall-clock ms when its frame was written
}

func newFakeRun(n, epochs int, every time.Duration) *fakeRun {
	f := &fakeRun{n: n, epochs: epochs, every: every, go_: make(chan struct{}), done: make(chan struct{}), sent: map[int]float64{}}
	rng := rand.New(rand.NewPCG(1, 2))
	f.labels = make([]int32, n)
	for i := range f.labels {
		f.labels[i] = int32(i % 10)
	}
	// Each class's centre turns around the origin from epoch to epoch, so
	// every point moves in every glide.
	noise := make([]float32, 2*n)
	for i := range noise {
		noise[i] = float32(rng.NormFloat64() * 0.09)
	}
	for e := 0; e <= epochs; e++ {
		coords := make([]float32, 2*n)
		for i := range n {
			a := 2*math.Pi*float64(f.labels[i])/10 + 0.35*float64(e)
			r := 0.3 + 0.4*float64(e%4)/3
			coords[2*i] = float32(r*math.Cos(a)) + noise[2*i]
			coords[2*i+1] = float32(r*math.Sin(a)) + noise[2*i+1]
		}
		f.frames = append(f.frames, encodeFrame(e, 2, coords))
	}
	f.mux = http.NewServeMux()
	f.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static.FS)))
	f.mux.HandleFunc("GET /runs/fake", f.page)
	f.mux.HandleFunc("GET /ws/runs/fake", f.ws)
	f.mux.HandleFunc("GET /api/runs/fake", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, f.summary("running")) })
	f.mux.HandleFunc("GET /api/runs/fake/pairs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"epoch": 0, "pairs": []any{}})
	})
	f.mux.HandleFunc("GET /api/runs/fake/neighbors", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"item": 0, "epoch": 0, "metric": "euclidean", "label": 0, "embedding": []any{}, "input": []any{}, "positives": []any{}, "negatives": []any{}})
	})
	return f
}

func (f *fakeRun) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// start lets the epochs flow.
func (f *fakeRun) start() { f.once.Do(func() { close(f.go_) }) }

func (f *fakeRun) sentAt(epoch int) (float64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, ok := f.sent[epoch]
	return ms, ok
}

func (f *fakeRun) summary(state string) map[string]any {
	return map[string]any{
		"id": "fake", "url": "/runs/fake", "state": state, "queue_position": 0, "epoch": 0, "epochs": f.epochs,
		"config":     map[string]any{"dataset": "synthetic", "loss": "supcon", "epochs": f.epochs},
		"projection": map[string]any{"method": "pca", "dims": 2}, "viewers": 1,
	}
}

func (f *fakeRun) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	p := views.RunPage{
		ID: "fake", Title: fmt.Sprintf("Synthetic frame · %d points", f.n), WSURL: "/ws/runs/fake",
		Items: f.n, Epochs: f.epochs, State: "running", Method: "pca", Dims: 2,
	}
	if err := views.Run(p).Render(r.Context(), w); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (f *fakeRun) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	splits := make([]int, f.n)
	for i := range splits {
		if i%5 == 0 {
			splits[i] = 1
		}
	}
	names := make([]string, 10)
	for k := range names {
		names[k] = fmt.Sprintf("cluster %d", k)
	}
	hello := map[string]any{
		"type": "hello", "run": f.summary("running"),
		"dataset": map[string]any{
			"name": "synthetic", "title": "Synthetic clusters", "kind": "vectors", "items": f.n, "dim": 2,
			"width": 0, "height": 0, "class_names": names, "labels": f.labels, "splits": splits, "pixels_url": "",
		},
	}
	send := func(epoch int) error {
		meta, _ := json.Marshal(map[string]any{
			"type": "epoch", "epoch": epoch, "backfill": false,
			"metrics": map[string]any{"loss": 1 / float64(epoch+1), "knn_accuracy": 0.5, "raw_knn_accuracy": 0.4, "has_knn": true},
			"frame":   map[string]any{"method": "pca", "dims": 2},
			"sent_ms": time.Now().UnixMilli(),
		})
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Write(wctx, websocket.MessageText, meta); err != nil {
			return err
		}
		now := float64(time.Now().UnixMicro()) / 1000
		if err := c.Write(wctx, websocket.MessageBinary, f.frames[epoch]); err != nil {
			return err
		}
		f.mu.Lock()
		f.sent[epoch] = now
		f.mu.Unlock()
		return nil
	}
	msg := func(v any) error {
		b, _ := json.Marshal(v)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, b)
	}
	if msg(hello) != nil || msg(map[string]any{"type": "live"}) != nil || send(0) != nil {
		return
	}
	select {
	case <-f.go_:
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for e := 1; e <= f.epochs; e++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		if send(e) != nil {
			return
		}
	}
	// Let the last glide finish before the counting stops.
	select {
	case <-time.After(600 * time.Millisecond):
	case <-ctx.Done():
	}
	close(f.done)
	<-ctx.Done()
}

// clockOffset estimates how far the page's wall clock
// (performance.timeOrigin + performance.now()) is ahead of the test's, in
// milliseconds, from the quickest of a few round trips (the one least
// delayed on either side), taken while the page is idle.
func clockOffset(b *browser) float64 {
	best, offset := math.Inf(1), 0.0
	for range 9 {
		before := float64(time.Now().UnixMicro()) / 1000
		var page float64
		b.eval("page clock", `performance.timeOrigin + performance.now()`, &page)
		after := float64(time.Now().UnixMicro()) / 1000
		if rtt := after - before; rtt < best {
			best, offset = rtt, page-(before+after)/2
		}
	}
	return offset
}

// encodeFrame builds a binary coordinate frame (docs/protocol.md).
func encodeFrame(epoch, dims int, coords []float32) []byte {
	n := len(coords) / dims
	buf := make([]byte, 16+4*len(coords))
	copy(buf, "CEF1")
	binary.LittleEndian.PutUint32(buf[4:], uint32(epoch))
	binary.LittleEndian.PutUint32(buf[8:], uint32(n))
	buf[12] = byte(dims)
	for i, v := range coords {
		binary.LittleEndian.PutUint32(buf[16+4*i:], math.Float32bits(v))
	}
	return buf
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// cpuName returns the processor's model name, or "unknown CPU".
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}

// TestBrowserREADMEScreenshot writes docs/explorer.png, the README's picture
// of the explorer mid-training on Fashion-MNIST:
//
//	go test -tags browserbench -run TestBrowserREADMEScreenshot -count=1 ./web/
func TestBrowserREADMEScreenshot(t *testing.T) {
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second,
		chromedp.EmulateViewport(1400, 800),
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(tid("train-button")),
		chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="fashion"]`)),
		chromedp.SetValue(tid("field-epochs"), "30"),
		chromedp.Click(tid("train-button")),
	)
	b.poll("run page", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.epoch() !== null`, 60*time.Second)
	b.poll("some training", `window.explorer.epoch() >= 6`, 5*time.Minute)
	b.step("pause", 10*time.Second, chromedp.Click(tid("control-pause")))
	b.poll("paused", `window.explorer.state() === "paused" && window.explorer.settled()`, 60*time.Second)
	// Point at the lowest item, so the tooltip's picture opens into the
	// empty space under the clusters.
	b.hover(extremePoint(b, "bottom"))
	b.step("settle", 5*time.Second, chromedp.Sleep(300*time.Millisecond))
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out, err := shrinkPNG(buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../docs/explorer.png", out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("docs/explorer.png: %d KB (screenshot %d KB)", len(out)/1024, len(buf)/1024)
	b.noProblems()
}

// shrinkPNG re-encodes a screenshot as small as it goes: best compression,
// and, when that is still over 300 KB, a 256-colour palette of the most
// frequent colours (a page of flat colours and anti-aliased edges loses
// nothing visible).
func shrinkPNG(in []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	var out bytes.Buffer
	if err := enc.Encode(&out, img); err != nil {
		return nil, err
	}
	if out.Len() <= 300<<10 {
		return out.Bytes(), nil
	}
	bounds := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	type cc struct {
		c color.RGBA
		n int
	}
	all := make([]cc, 0, len(counts))
	for c, n := range counts {
		all = append(all, cc{c, n})
	}
	slices.SortFunc(all, func(a, b cc) int { return b.n - a.n })
	pal := make(color.Palette, 0, 256)
	for _, c := range all[:min(256, len(all))] {
		pal = append(pal, c.c)
	}
	q := image.NewPaletted(bounds, pal)
	memo := map[color.RGBA]uint8{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			k, ok := memo[c]
			if !ok {
				k = uint8(pal.Index(c))
				memo[c] = k
			}
			q.SetColorIndex(x, y, k)
		}
	}
	out.Reset()
	if err := enc.Encode(&out, q); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
