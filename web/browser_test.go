package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/contrastive-explorer/explorer/web"
)

// The -update flag rewrites golden files; here it also keeps the browser
// test's screenshots under testdata/. Another test file of the package may
// define it first, so define it only when nobody has.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files and screenshots under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// palette is static/palette.js's class colours, which the scatter must show.
var palette = [][3]uint8{
	{0x00, 0x72, 0xB2}, {0xE6, 0x9F, 0x00}, {0x00, 0x9E, 0x73}, {0xD5, 0x5E, 0x00},
	{0x56, 0xB4, 0xE9}, {0xCC, 0x79, 0xA7}, {0x00, 0x00, 0x00}, {0xF0, 0xE4, 0x42},
	{0x88, 0x22, 0x55}, {0x99, 0x99, 0x33}, {0x33, 0x22, 0x88}, {0x44, 0xAA, 0x99},
}

// browserFlags are the command-line switches of the headless browser. The
// swiftshader ones give WebGL2 in software: --disable-gpu alone turns it off.
var browserFlags = map[string]any{
	"headless":                      true,
	"no-sandbox":                    true,
	"disable-gpu":                   true,
	"disable-background-networking": true,
	"disable-component-update":      true,
	"disable-sync":                  true,
	"no-first-run":                  true,
	"no-default-browser-check":      true,
	"disable-quic":                  true,
	"disable-dev-shm-usage":         true,
	"disable-extensions":            true,
	"use-angle":                     "swiftshader",
	"enable-unsafe-swiftshader":     true,
	"window-size":                   "1600,1000",
	"force-color-profile":           "srgb",
	"hide-scrollbars":               true,
	"mute-audio":                    true,
}

// findBrowser returns the path of a Chromium binary, skipping (or, with
// EXPLORER_REQUIRE_BROWSER=1, failing) the test when there is none.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: the end-to-end browser test needs Debian's chromium package (apt-get install chromium)"
	if os.Getenv("EXPLORER_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; EXPLORER_REQUIRE_BROWSER=1 forbids skipping")
	}
	t.Skip(msg)
	return ""
}

// pageProblems collects uncaught exceptions and console errors of every page
// the browser shows.
type pageProblems struct {
	mu   sync.Mutex
	msgs []string
}

func (p *pageProblems) add(s string) {
	p.mu.Lock()
	p.msgs = append(p.msgs, s)
	p.mu.Unlock()
}

func (p *pageProblems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// TestBrowser drives the whole explorer in a real headless browser: start a
// digits run from the home page, watch epochs arrive and points drawn in
// their class colours, hover a point for its tooltip, pause the run and see
// the epochs stop, with no JavaScript error on any page.
func TestBrowser(t *testing.T) {
	chromium := findBrowser(t)
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	start := time.Now()

	// The server, as cmd/explorer serves it.
	srvCtx, stopServer := context.WithCancel(context.Background())
	srv := web.New(srvCtx, web.Options{MaxRuns: 2, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		stopServer() // stops runs and closes websockets
		ts.Close()
		srv.Wait()
	})

	// The browser, in a fresh temporary profile that chromedp removes.
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromium)}
	for name, v := range browserFlags {
		opts = append(opts, chromedp.Flag(name, v))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}

	problems := &pageProblems{}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleException, chromedp.ConsoleError, "assert":
				where := ""
				if m.URL != "" {
					where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
				}
				problems.add(fmt.Sprintf("%s: %s%s", m.Type, m.Text, where))
			}
		}
	}()

	// Every step has a deadline; the test as a whole stays well under a minute.
	step := func(name string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shot(t, ctx, "failed-"+name)
			t.Fatalf("%s: %v\npage problems: %q", name, err, problems.list())
		}
	}
	eval := func(name, expr string, out any) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		if err == nil {
			err = json.Unmarshal(raw, out)
		}
		if err != nil {
			t.Fatalf("%s: evaluating %s: %v", name, expr, err)
		}
	}
	// poll waits for a JavaScript condition, evaluating it afresh every
	// 100 ms so that it survives navigations (chromedp.Poll does not).
	poll := func(name, expr string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				shot(t, ctx, "failed-"+name)
				t.Fatalf("%s: %s still false after %v (last error %v)\npage problems: %q", name, expr, d, err, problems.list())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	tid := func(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

	// 1. The home page: pick digits, enough epochs to still be training
	// when we pause, and press Train.
	step("home page", 15*time.Second,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(tid("train-button")),
		chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="digits"]`)),
		chromedp.SetValue(tid("field-epochs"), "300"),
		chromedp.Click(tid("train-button")),
	)
	poll("run page opens", `location.pathname.startsWith("/runs/") && document.readyState === "complete"`, 10*time.Second)

	// 2. Epochs arrive and the counter advances.
	poll("first epoch drawn", `window.explorer && window.explorer.epoch() !== null`, 30*time.Second)
	var first int
	eval("epoch", `window.explorer.epoch()`, &first)
	poll("epoch counter advances", fmt.Sprintf(`window.explorer.epoch() >= %d`, first+2), 20*time.Second)
	var counter string
	eval("counter", `document.querySelector('[data-testid="epoch-counter"]').textContent`, &counter)
	if !strings.HasPrefix(counter, "epoch ") {
		t.Errorf("epoch counter reads %q, want \"epoch e / E\"", counter)
	}

	// 3. The scatter shows points in several palette colours.
	var dataURL string
	eval("snapshot", `window.explorer.snapshot()`, &dataURL)
	colours, err := paletteColours(dataURL)
	if err != nil {
		t.Fatalf("reading the scatter's pixels: %v", err)
	}
	if colours < 8 {
		t.Errorf("the scatter shows %d of the 10 digit classes' colours, want at least 8", colours)
	}

	// 4. Pause: the state says so and no new epoch arrives. The points then
	// stay still for the hover and the click.
	step("pause", 10*time.Second, chromedp.Click(tid("control-pause")))
	poll("paused", `document.querySelector('[data-testid="run-state"]').dataset.state === "paused"`, 10*time.Second)
	// Epochs trained just before the pause may still be in projection: wait
	// for the page to have every epoch the server says was trained, then
	// check that no further one comes.
	var trained int
	eval("trained epochs", `fetch("/api/runs/" + window.explorer.runID).then(r => r.json()).then(s => s.epoch)`, &trained)
	poll("every trained epoch shown", fmt.Sprintf(`window.explorer.newest() >= %d`, trained), 30*time.Second)
	var before, after int
	eval("newest epoch", `window.explorer.newest()`, &before)
	time.Sleep(1500 * time.Millisecond)
	eval("newest epoch", `window.explorer.newest()`, &after)
	if after != before {
		t.Errorf("paused run went on from epoch %d to %d", before, after)
	}
	step("resume button enabled", 5*time.Second, chromedp.WaitEnabled(tid("control-resume")))

	// 5. Hovering a point shows its tooltip, with its label as text. The
	// leftmost point is the one no other point can cover.
	var at struct{ X, Y float64 }
	eval("leftmost point", `(() => {
		const e = window.explorer; let best = null;
		for (let i = 0; i < e.points(); i++) { const p = e.screenOf(i); if (!best || p.x < best.x) best = p; }
		return {x: best.x, y: best.y};
	})()`, &at)
	step("hover", 10*time.Second,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X+3, at.Y+3),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X, at.Y),
		chromedp.WaitVisible(tid("tooltip")),
	)
	var tip string
	eval("tooltip", `document.querySelector('[data-testid="tooltip"]').textContent`, &tip)
	if !strings.Contains(tip, "item ") || strings.IndexAny(tip, "0123456789") < 0 {
		t.Errorf("tooltip reads %q, want the item's digit label and number", tip)
	}
	shot(t, ctx, "run-page")

	// 6. Clicking the point lists its neighbours in embedding and input
	// space, with pictures.
	step("select a point", 10*time.Second,
		chromedp.MouseClickXY(at.X, at.Y),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="neighbors-embedding"] li canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="neighbors-input"] li canvas`)),
	)

	// 7. The left arrow steps back through the timeline; "l" follows live.
	var viewing, newest int
	eval("viewing", `window.explorer.epoch()`, &viewing)
	step("step back", 5*time.Second, chromedp.KeyEvent(kb.ArrowLeft))
	poll("looking back", fmt.Sprintf(`window.explorer.epoch() < %d`, viewing), 5*time.Second)
	step("live again", 5*time.Second, chromedp.KeyEvent("l"))
	eval("newest", `window.explorer.newest()`, &newest)
	poll("following live", fmt.Sprintf(`window.explorer.epoch() >= %d`, newest), 5*time.Second)
	step("glide", 5*time.Second, chromedp.Sleep(700*time.Millisecond))
	shot(t, ctx, "selected")

	// 8. Space resumes the run and epochs arrive again.
	step("space resumes", 5*time.Second, chromedp.KeyEvent(" "))
	poll("running again", `document.querySelector('[data-testid="run-state"]').dataset.state === "running"`, 10*time.Second)
	poll("epochs again", fmt.Sprintf(`window.explorer.newest() > %d`, after), 20*time.Second)

	// 9. Stop, and the page says it is over.
	step("stop", 10*time.Second, chromedp.Click(tid("control-stop")))
	poll("stopped", `document.querySelector('[data-testid="run-state"]').dataset.state === "stopped"`, 10*time.Second)

	if p := problems.list(); len(p) > 0 {
		t.Errorf("the pages logged %d JavaScript or console errors:\n%s", len(p), strings.Join(p, "\n"))
	}
	t.Logf("browser test took %v", time.Since(start).Round(100*time.Millisecond))
}

// shot saves a screenshot of the page: under testdata/ with -update, else in
// a temporary directory whose path is logged.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := "testdata"
	if !updating() {
		if dir, err = os.MkdirTemp("", "explorer-browser-"); err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return
		}
	}
	path := filepath.Join(dir, "browser-"+strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// paletteColours decodes a PNG data URL and counts the palette colours that
// cover at least 30 pixels: the discs' inner colour is exactly the class
// colour (their rim is darker).
func paletteColours(dataURL string) (int, error) {
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		return 0, fmt.Errorf("not a PNG data URL: %.40q", dataURL)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return 0, err
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	counts := make([]int, len(palette))
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if k := nearestPalette(img, x, y); k >= 0 {
				counts[k]++
			}
		}
	}
	n := 0
	for _, c := range counts {
		if c >= 30 {
			n++
		}
	}
	return n, nil
}

func nearestPalette(img image.Image, x, y int) int {
	r, g, b, a := img.At(x, y).RGBA()
	if a>>8 < 250 {
		return -1
	}
	for k, p := range palette {
		if near(r>>8, p[0]) && near(g>>8, p[1]) && near(b>>8, p[2]) {
			return k
		}
	}
	return -1
}

func near(v uint32, want uint8) bool {
	d := int(v) - int(want)
	return d >= -6 && d <= 6
}
