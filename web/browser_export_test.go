package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// TestBrowserExports opens the export menu of a finished run, saves the
// coordinates and the animation, and reads what the page says: the
// animation's frames as they are rendered, then the file saved; the map's
// epoch goes into the per-epoch links.
func TestBrowserExports(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(1366, 768), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	id := b.startRun(`{dataset: "digits", epochs: 30}`)
	// Every epoch projected (finishedJS), so the exports hold them all.
	b.poll("finished", finishedJS+` && document.querySelector('[data-testid="run-state"]').dataset.state === "done" && window.explorer.epoch() === 30`, 90*time.Second)
	b.eval("watch the status", `(() => { window.__exportLog = []; const s = document.querySelector('[data-testid="export-status"]');
		new MutationObserver(() => window.__exportLog.push(s.textContent)).observe(s, {childList: true, characterData: true, subtree: true}); return true; })()`, nil)
	b.step("open the menu", 10*time.Second, chromedp.Click(`[data-testid="export-menu"] > summary`), chromedp.WaitVisible(tid("export-coords.csv")))
	b.shot("export-menu")
	if href := b.evalString(`document.querySelector('[data-testid="export-scatter.png"]').href`); !strings.Contains(href, "epoch=30") {
		t.Errorf("the map's link does not name the epoch on the map: %s", href)
	}
	b.step("save the coordinates", 10*time.Second, chromedp.Click(tid("export-coords.csv")))
	b.poll("coordinates saved", `document.querySelector('[data-testid="export-status"]').textContent.startsWith("saved run-`+id+`-coords.csv")`, 15*time.Second)
	b.step("save the animation", 10*time.Second, chromedp.Click(tid("export-animation.gif")))
	b.poll("animation saved", `document.querySelector('[data-testid="export-status"]').textContent.startsWith("saved run-`+id+`-animation.gif")`, 60*time.Second)
	var log []string
	b.eval("status log", `window.__exportLog`, &log)
	sawFrames := false
	for _, l := range log {
		sawFrames = sawFrames || strings.Contains(l, "rendering the animation")
	}
	if !sawFrames {
		t.Errorf("the page never said the animation was being rendered: %q", log)
	}
	b.shot("export-saved")
	b.noProblems()
}
