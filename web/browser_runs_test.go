package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/web"
)

// serveUntil serves the explorer on o until the returned stop is called
// (or the test ends), as a process that is stopped and started again.
func serveUntil(t *testing.T, o web.Options) (url string, stop func()) {
	t.Helper()
	o.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := web.New(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			ts.Close()
			srv.Wait()
		}
	}
	t.Cleanup(stop)
	return ts.URL, stop
}

// TestBrowserRunsPage follows a teacher across a restart of the server:
// the runs page lists the session's runs (a finished one with its
// thumbnail, an interrupted one), renames one, resumes the interrupted run
// from its page, and deletes a run, each surviving a reload.
func TestBrowserRunsPage(t *testing.T) {
	store := memory.New()
	o := web.Options{Store: store, DataDir: t.TempDir(), SessionKey: []byte("a session key that outlives one process")}
	first, stop := serveUntil(t, o)
	b := newBrowser(t, nil)
	step, eval, poll := b.step, b.eval, b.poll

	step("home page", 15*time.Second, chromedp.Navigate(first+"/"), chromedp.WaitVisible(tid("train-button")))
	done := b.startRun(`{dataset: "digits", epochs: 2}`)
	poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done"`, 60*time.Second)
	long := b.startRun(`{dataset: "digits", epochs: 1000}`)
	poll("a few epochs trained", `window.explorer.newest() >= 2`, 60*time.Second)
	var tokens map[string]string
	eval("tokens", fmt.Sprintf(`({done: localStorage.getItem("explorer.token.%s"), long: localStorage.getItem("explorer.token.%s")})`, done, long), &tokens)
	step("leave the page", 10*time.Second, chromedp.Navigate("about:blank"))
	stop()

	// The server starts again on the same store. The session cookie is the
	// same (cookies ignore ports); the tokens live in the page's storage,
	// which is per origin, so the new origin is given them.
	second, _ := serveUntil(t, o)
	step("new origin", 15*time.Second, chromedp.Navigate(second+"/"), chromedp.WaitVisible(tid("train-button")))
	var ignored any
	eval("keep tokens", fmt.Sprintf(`localStorage.setItem("explorer.token.%s", %q); localStorage.setItem("explorer.token.%s", %q); true`,
		done, tokens["done"], long, tokens["long"]), &ignored)
	row := func(id, inner string) string {
		return fmt.Sprintf(`document.querySelector('[data-testid="run-row"][data-run-id="%s"] %s')`, id, inner)
	}
	step("runs page", 15*time.Second, chromedp.Navigate(second+"/runs"), chromedp.WaitVisible(tid("runs-table")))
	var rows int
	eval("rows", `document.querySelectorAll('[data-testid="run-row"]').length`, &rows)
	if rows != 2 {
		t.Fatalf("the runs page lists %d runs after the restart, want 2", rows)
	}
	if s := b.evalString(row(done, `[data-testid="run-row-state"]`) + `.textContent`); s != "done" {
		t.Errorf("the finished run's state reads %q", s)
	}
	if s := b.evalString(row(long, `[data-testid="run-row-state"]`) + `.textContent`); s != "interrupted" {
		t.Errorf("the interrupted run's state reads %q", s)
	}
	poll("thumbnail drawn", row(done, `img`)+`.complete && `+row(done, `img`)+`.naturalWidth === 64`, 10*time.Second)

	// Rename: the page asks for a name (window.prompt, answered here).
	eval("answer the prompt", `window.prompt = () => "Tuesday's demo"; true`, &ignored)
	step("rename", 10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="run-row"][data-run-id="%s"] [data-testid="run-rename"]`, done))))
	poll("renamed", row(done, `[data-testid="run-name"]`)+`.textContent.trim() === "Tuesday's demo"`, 10*time.Second)
	step("reload", 15*time.Second, chromedp.Reload(), chromedp.WaitVisible(tid("runs-table")))
	if s := b.evalString(row(done, `[data-testid="run-name"]`) + `.textContent.trim()`); s != "Tuesday's demo" {
		t.Errorf("after a reload the run is named %q", s)
	}

	// Resume the interrupted run from its page: it trains on from its
	// checkpoint, then the owner stops it.
	step("interrupted run", 15*time.Second, chromedp.Navigate(second+"/runs/"+long))
	poll("resume offered", `document.querySelector('[data-testid="run-state"]').dataset.state === "interrupted" && !document.querySelector('[data-testid="control-resume"]').disabled`, 20*time.Second)
	var before int
	eval("newest before", `window.explorer.newest()`, &before)
	step("resume", 10*time.Second, chromedp.Click(tid("control-resume")))
	poll("training again", fmt.Sprintf(`document.querySelector('[data-testid="run-state"]').dataset.state === "running" && window.explorer.newest() >= %d`, before+2), 60*time.Second)
	step("stop", 10*time.Second, chromedp.Click(tid("control-stop")))
	poll("stopped", `document.querySelector('[data-testid="run-state"]').dataset.state === "stopped"`, 30*time.Second)

	// Delete the finished run (after a confirmation, answered here).
	step("runs page again", 15*time.Second, chromedp.Navigate(second+"/runs"), chromedp.WaitVisible(tid("runs-table")))
	eval("answer the confirmation", `window.confirm = () => true; true`, &ignored)
	step("delete", 10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="run-row"][data-run-id="%s"] [data-testid="run-delete"]`, done))))
	poll("row removed", row(done, ``)+` === null`, 10*time.Second)
	step("reload", 15*time.Second, chromedp.Reload(), chromedp.WaitVisible(tid("runs-table")))
	eval("rows", `document.querySelectorAll('[data-testid="run-row"]').length`, &rows)
	if rows != 1 {
		t.Errorf("%d runs listed after deleting one of 2", rows)
	}
	if _, err := store.Run(context.Background(), done); err == nil {
		t.Error("the deleted run is still in the store")
	}
	resp, err := http.Get(second + "/api/runs/" + done)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a deleted run: %d, want 404", resp.StatusCode)
	}
	rec, err := store.Run(context.Background(), long)
	if err != nil || rec.State != run.Stopped {
		t.Errorf("the resumed run in the store: %v %v, want stopped", rec.State, err)
	}
	b.noProblems()
}

// evalString evaluates a JavaScript expression that yields a string.
func (b *browser) evalString(expr string) string {
	b.t.Helper()
	var s string
	b.eval(expr, expr, &s)
	return s
}

// TestBrowserFinishedRunReprojects switches the projection of a finished
// run, whose stream has ended: before, the page said "re-projecting…"
// forever, because the new frames went to a stream it had closed.
func TestBrowserFinishedRunReprojects(t *testing.T) {
	url := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("train-button")))
	b.startRun(`{dataset: "digits", epochs: 2}`)
	b.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done" && window.explorer.projection() !== null`, 60*time.Second)
	if p := b.evalString(`window.explorer.projection().method`); p != "pca" {
		t.Fatalf("the run shows %q before the switch, want pca", p)
	}
	if note := b.text("loss-note"); !strings.Contains(note, "What to watch for") || !strings.Contains(note, "cluster") {
		t.Errorf("the loss note reads %q", note)
	}
	caveatHidden := `document.querySelector('[data-testid="tsne-caveat"]').hidden`
	var hidden bool
	b.eval("caveat with PCA", caveatHidden, &hidden)
	if !hidden {
		t.Error("the t-SNE caveat shows beside a PCA picture")
	}
	var ignored any
	b.eval("switch to t-SNE in 3D", `const s = document.querySelector('[data-testid="projection-method"]');
		s.value = "tsne"; s.dispatchEvent(new Event("change")); true`, &ignored)
	b.poll("redrawn with t-SNE", `window.explorer.projection().method === "tsne" && window.explorer.epoch() === 2`, 60*time.Second)
	b.poll("the t-SNE caveat shows", "!"+caveatHidden, 5*time.Second)
	b.shot("teach-notes")
	b.poll("the status says so", `!document.querySelector('[data-testid="connection-status"]').textContent.includes("re-projecting")`, 20*time.Second)
	b.eval("back to PCA in 3D", `const d = document.querySelector('[data-testid="projection-dims"]');
		document.querySelector('[data-testid="projection-method"]').value = "pca";
		d.value = "3"; d.dispatchEvent(new Event("change")); true`, &ignored)
	b.poll("redrawn in 3D", `(p => p.method === "pca" && p.dims === 3)(window.explorer.projection())`, 60*time.Second)
	b.noProblems()
}

// TestBrowserRecallChart: a run on listening histories is judged as a
// recommender: its accuracy chart shows recall@10 against the most popular
// tracks and chance.
func TestBrowserRecallChart(t *testing.T) {
	url := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("train-button")))
	b.startRun(`{dataset: "interactions", pairs: "cooccur", epochs: 2}`)
	b.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done"`, 60*time.Second)
	fig := `document.querySelector('[data-testid="chart-knn"]').closest('figure')`
	b.poll("recall chart", fig+`.querySelector('figcaption').textContent.startsWith("Recall@10.")`, 10*time.Second)
	keys := b.evalString(`[...` + fig + `.querySelectorAll('.legend-key')].map((k) => k.textContent).join("|")`)
	if keys != "recall@10|most popular|random" {
		t.Errorf("the recall chart's legend reads %q", keys)
	}
	if v := b.evalString(fig + `.querySelector('.chart-value').textContent`); v == "" || v == "0" {
		t.Errorf("the recall chart shows the value %q", v)
	}
	b.noProblems()
}

// TestBrowserPacing watches a run that trains faster than the page plays
// it: at 8 epochs a second every epoch is put on the map in order, none
// skipped, the mode saying how many are still to play; the speed chosen
// is remembered, and a replay plays at it too.
func TestBrowserPacing(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(1366, 768), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	id := b.startRun(`{dataset: "digits", epochs: 30}`)
	var speed float64
	b.eval("default speed", `window.explorer.speed()`, &speed)
	if speed != 2 {
		t.Errorf("the default speed is %v epochs/s, want 2", speed)
	}
	b.eval("choose 8 epochs a second", `(() => { const s = document.querySelector('[data-testid="timeline-speed"]'); s.value = "8"; s.dispatchEvent(new Event("change")); return Number(s.value); })()`, &speed)
	b.poll("trained", `window.explorer.newest() === 30`, 60*time.Second)
	var mode string
	b.eval("mode", `document.querySelector('[data-testid="timeline-mode"]').textContent`, &mode)
	b.poll("played", `window.explorer.epoch() === 30`, 15*time.Second)
	// At a projector's 1366x768 the map, the timeline and the controls are
	// in the first screen.
	var below []string
	b.eval("first screen", `(() => { window.scrollTo(0, 0); return ["scatter", "timeline-play", "timeline-slider", "timeline-speed", "timeline-live", "control-pause", "control-stop", "projection-method"]
		.filter((id) => { const r = document.querySelector('[data-testid="' + id + '"]').getBoundingClientRect(); return r.bottom > innerHeight || r.right > innerWidth || r.height === 0; }); })()`, &below)
	if len(below) > 0 {
		t.Errorf("outside the first screen of the run page at 1366x768: %v", below)
	}
	// Chart captions are read whole, without hovering.
	var cut []string
	b.eval("captions", `[...document.querySelectorAll('figure.chart figcaption')].filter((c) => c.scrollHeight > c.clientHeight + 1).map((c) => c.textContent.slice(0, 30))`, &cut)
	if len(cut) > 0 {
		t.Errorf("chart captions cut short: %q", cut)
	}
	b.shot("run-1366x768")
	// The page opened as the run began: it shows the newest epoch then,
	// and every one after it.
	var shown []int
	b.eval("shown", `window.explorer.shown()`, &shown)
	for i := 1; i < len(shown); i++ {
		if shown[i] != shown[i-1]+1 {
			t.Errorf("epochs shown %v: %d follows %d, want every epoch in order", shown, shown[i], shown[i-1])
			break
		}
	}
	if len(shown) < 15 || shown[len(shown)-1] != 30 {
		t.Errorf("epochs shown %v, want at least the last 15 of 30", shown)
	}
	t.Logf("mode while the run was ahead: %q; shown %v", mode, shown)

	// The speed is remembered for the next page.
	b.step("reopen", 15*time.Second, chromedp.Navigate(base+"/runs/"+id))
	b.poll("reopened", `window.explorer && window.explorer.live()`, 10*time.Second)
	b.eval("remembered speed", `window.explorer.speed()`, &speed)
	if speed != 8 {
		t.Errorf("after reopening, speed %v, want the 8 chosen", speed)
	}
	// A replay at 8 epochs a second plays the 31 epochs in about 4 s.
	start := time.Now()
	b.step("replay", 5*time.Second, chromedp.Click(tid("timeline-play")))
	b.poll("replayed", `window.explorer.epoch() === 30 && document.querySelector('[data-testid="timeline-play"]').textContent.includes("Replay")`, 15*time.Second)
	if d := time.Since(start); d < 3*time.Second || d > 7*time.Second {
		t.Errorf("the replay took %v at 8 epochs/s, want about 4 s", d)
	}

	// The pairs follow the timeline, and "Other pairs" shows others of the
	// same epoch although the run is over.
	b.poll("pairs of the last epoch", `document.querySelector('[data-testid="pairs-epoch"]')?.textContent === "From a batch of epoch 30"`, 10*time.Second)

	var dbg string
	b.eval("back to epoch 3", `(() => { const s = document.querySelector('[data-testid="timeline-slider"]'); s.value = "3"; s.dispatchEvent(new Event("input")); return s.value + " " + s.max + " " + window.explorer.epoch(); })()`, &dbg)
	t.Logf("slider: %s", dbg)
	b.poll("pairs of epoch 3", `document.querySelector('[data-testid="pairs-epoch"]')?.textContent === "From a batch of epoch 3"`, 10*time.Second)
	pairsText := `[...document.querySelectorAll('[data-testid="pair-panel"] .pair-text')].map((e) => e.textContent).join("|")`
	before := b.evalString(pairsText)
	b.step("other pairs", 5*time.Second, chromedp.Click(tid("pairs-refresh")))
	b.poll("other pairs shown", pairsText+` !== `+strconv.Quote(before), 10*time.Second)
	b.shot("pacing-epoch-3")
	if got := b.text("pairs-epoch"); got != "From a batch of epoch 3" {
		t.Errorf("after Other pairs the panel reads %q, want epoch 3 still", got)
	}
	b.noProblems()
}
