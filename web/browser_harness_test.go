package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/static"
	"github.com/contrastive-explorer/explorer/web"
)

// The browser tests share this harness: one headless Chromium per test, a
// list of the JavaScript errors its pages log, and steps with deadlines.

// The -update flag rewrites golden files; here it also keeps the browser
// tests' screenshots under testdata/. Another test file of the package may
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
	{0x88, 0x22, 0x55}, {0x99, 0x99, 0x33}, {0x8C, 0x56, 0x4B}, {0x44, 0xAA, 0x99},
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
	mu      sync.Mutex
	msgs    []string
	allowed []string
}

// allow ignores problems containing s from now on: an error answer the
// test provokes is logged by the browser as a failed resource load.
func (p *pageProblems) allow(s string) {
	p.mu.Lock()
	p.allowed = append(p.allowed, s)
	p.mu.Unlock()
}

func (p *pageProblems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.allowed {
		if strings.Contains(s, a) {
			return
		}
	}
	p.msgs = append(p.msgs, s)
}

func (p *pageProblems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// startExplorer serves the explorer as cmd/explorer does, stopped at the
// end of the test, and returns its base URL.
func startExplorer(t *testing.T, o web.Options) string {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	srvCtx, stopServer := context.WithCancel(context.Background())
	srv, err := web.New(srvCtx, o)
	if err != nil {
		stopServer()
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		stopServer() // stops runs and closes websockets
		ts.Close()
		srv.Wait()
	})
	return ts.URL
}

// browser is one headless Chromium tab driven by a test.
type browser struct {
	t        *testing.T
	ctx      context.Context
	problems *pageProblems
}

// newBrowser starts Chromium in a fresh temporary profile (which chromedp
// removes) and records the JavaScript errors of its pages. extra flags
// override browserFlags.
func newBrowser(t *testing.T, extra map[string]any) *browser {
	t.Helper()
	chromium := findBrowser(t)
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromium)}
	for name, v := range browserFlags {
		if _, ok := extra[name]; !ok {
			opts = append(opts, chromedp.Flag(name, v))
		}
	}
	for name, v := range extra {
		opts = append(opts, chromedp.Flag(name, v))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	b := &browser{t: t, ctx: ctx, problems: &pageProblems{}}
	b.listen()
	return b
}

// another opens a tab of the same Chromium in a new browser context: its
// own cookies and storage, as another person's browser has.
func (b *browser) another() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening another browser context: %v", err)
	}
	o := &browser{t: b.t, ctx: ctx, problems: &pageProblems{}}
	o.listen()
	return o
}

// listen records the JavaScript errors of the tab's pages.
func (b *browser) listen() {
	ctx := b.ctx
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
				b.problems.add(fmt.Sprintf("%s: %s%s", m.Type, m.Text, where))
			}
		}
	}()
}

// tid selects the element with a data-testid.
func tid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// step runs actions with a deadline; on failure it saves a screenshot and
// stops the test.
func (b *browser) step(name string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		b.shot("failed-" + name)
		b.t.Fatalf("%s: %v\npage problems: %q", name, err, b.problems.list())
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON value into out.
func (b *browser) eval(name, expr string, out any) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		b.shot("failed-" + name)
		b.t.Fatalf("%s: evaluating %s: %v\npage problems: %q", name, expr, err, b.problems.list())
	}
}

// poll waits for a JavaScript condition, evaluating it afresh every 50 ms
// so that it survives navigations (chromedp.Poll does not).
func (b *browser) poll(name, expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		sctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-" + name)
			b.t.Fatalf("%s: %s still false after %v (last error %v)\npage problems: %q", name, expr, d, err, b.problems.list())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text returns the textContent of the element with a data-testid.
func (b *browser) text(id string) string {
	b.t.Helper()
	var s string
	b.eval("text of "+id, fmt.Sprintf(`(document.querySelector('[data-testid=%q]') || {}).textContent || ""`, id), &s)
	return s
}

// noProblems fails the test if any page logged a JavaScript error.
func (b *browser) noProblems() {
	b.t.Helper()
	if p := b.problems.list(); len(p) > 0 {
		b.t.Errorf("the pages logged %d JavaScript or console errors:\n%s", len(p), strings.Join(p, "\n"))
	}
}

// shot saves a screenshot of the page: under testdata/ with -update, else in
// a temporary directory whose path is logged.
func (b *browser) shot(name string) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	saveShot(b.t, name, buf)
}

// saveShot writes a screenshot: under $EXPLORER_SCREENSHOTS/TestName/
// when that is set (CI's artifacts), under testdata/ with -update, else in
// a temporary directory whose path is logged.
func saveShot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := "testdata"
	if shots := os.Getenv("EXPLORER_SCREENSHOTS"); shots != "" {
		// CI keeps every screenshot as an artifact, named by test.
		dir = filepath.Join(shots, strings.ReplaceAll(t.Name(), "/", "-"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return
		}
	} else if !updating() || strings.HasPrefix(name, "failed-") {
		var err error
		if dir, err = os.MkdirTemp("", "explorer-browser-"); err != nil {
			t.Logf("screenshot %s: %v", name, err)
			return
		}
	}
	path := filepath.Join(dir, "browser-"+strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// shotOf saves a screenshot of one element, scrolled into view.
func (b *browser) shotOf(name, id string) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.Screenshot(tid(id)))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	saveShot(b.t, name, buf)
}

// TestPaletteCopy: the palette above is static/palette.js's, colour for
// colour.
func TestPaletteCopy(t *testing.T) {
	js, err := fs.ReadFile(static.FS, "palette.js")
	if err != nil {
		t.Fatal(err)
	}
	block, _, _ := strings.Cut(strings.SplitN(string(js), "export const PALETTE = [", 2)[1], "];")
	hexes := regexp.MustCompile(`'#([0-9A-Fa-f]{6})'`).FindAllStringSubmatch(block, -1)
	if len(hexes) != len(palette) {
		t.Fatalf("palette.js has %d colours, the test's copy %d", len(hexes), len(palette))
	}
	for i, h := range hexes {
		if got := fmt.Sprintf("%02X%02X%02X", palette[i][0], palette[i][1], palette[i][2]); !strings.EqualFold(got, h[1]) {
			t.Errorf("colour %d: palette.js #%s, the test's copy #%s", i, h[1], got)
		}
	}
}
