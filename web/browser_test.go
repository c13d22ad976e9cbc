package web_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/contrastive-explorer/explorer/web"
)

// TestBrowser drives the whole explorer in a real headless browser: start a
// digits run from the home page, watch epochs arrive and points drawn in
// their class colours, hover a point for its tooltip, pause the run and see
// the epochs stop, with no JavaScript error on any page.
func TestBrowser(t *testing.T) {
	start := time.Now()
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	step, eval, poll := b.step, b.eval, b.poll

	// 1. The home page: pick digits, enough epochs to still be training
	// when we pause, and press Train.
	step("home page", 15*time.Second,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(tid("train-button")),
		chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="digits"]`)),
		chromedp.SetValue(tid("field-epochs"), "300"),
		chromedp.Click(tid("train-button")),
	)
	poll("run page opens", `location.pathname.startsWith("/runs/") && document.readyState === "complete"`, 30*time.Second)
	// 300 fast epochs: shown as they come rather than queued at 2 a
	// second (TestBrowserPacing watches the queue).
	poll("speed control", `!!document.querySelector('[data-testid="timeline-speed"]')`, 10*time.Second)
	eval("speed: as they come", `(() => { const s = document.querySelector('[data-testid="timeline-speed"]'); s.value = "0"; s.dispatchEvent(new Event("change")); return true; })()`, new(bool))

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

	// The owner sees how many have the run open: this page.
	poll("viewer count", `document.querySelector('[data-testid="viewer-count"]').textContent === "1 watching"`, 10*time.Second)

	// A dropped connection resumes after the epochs the page has, not from
	// the whole history again.
	var held, gap int
	eval("drop the connection", `(() => {
		window.explorer.drop();
		let e = 0;
		while (window.explorer.has(e)) e++;
		return [window.explorer.newest(), e];
	})()`, &[]*int{&held, &gap})
	poll("reconnected", `window.explorer.stream().connects.length === 2 && window.explorer.stream().live`, 20*time.Second)
	var from []int
	eval("from", `window.explorer.stream().connects`, &from)
	if from[0] != 0 || from[1] != gap || gap == 0 {
		t.Errorf("connections asked for epochs from %v; the second should start at %d, the first the page lacks (newest %d)", from, gap, held)
	}
	poll("epochs after the reconnection", fmt.Sprintf(`window.explorer.newest() > %d`, held+1), 20*time.Second)

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
	step("pause", 30*time.Second, chromedp.Click(tid("control-pause")))
	poll("paused", `document.querySelector('[data-testid="run-state"]').dataset.state === "paused"`, 30*time.Second)
	// Epochs trained just before the pause may still be in projection: wait
	// for the page to have every epoch the server says was trained, then
	// check that no further one comes.
	var trained int
	eval("trained epochs", `fetch("/api/runs/" + window.explorer.runID).then(r => r.json()).then(s => s.epoch)`, &trained)
	poll("every trained epoch shown", fmt.Sprintf(`window.explorer.newest() >= %d`, trained), 30*time.Second)
	// Pause acts before the next training step (docs/protocol.md): the
	// epoch whose steps were all done when it came is still measured and
	// published, which under load can take seconds. So one epoch after
	// those the server had counted may still come, then none.
	var before, after int
	eval("newest epoch", `window.explorer.newest()`, &before)
	time.Sleep(1500 * time.Millisecond)
	eval("newest epoch", `window.explorer.newest()`, &after)
	if after != before && after <= trained+1 {
		t.Logf("epoch %d was in flight when the run paused", after)
		before = after
		time.Sleep(1500 * time.Millisecond)
		eval("newest epoch", `window.explorer.newest()`, &after)
	}
	if after != before {
		t.Errorf("paused run went on from epoch %d to %d (%d trained when it paused)", before, after, trained)
	}
	step("resume button enabled", 20*time.Second, chromedp.WaitEnabled(tid("control-resume")))

	// 5. Hovering a point shows its tooltip, with its label as text. The
	// leftmost point is the one no other point can cover; it is taken once
	// the points have stopped gliding (under load the glide to the last
	// epoch may still be under way), else the mouse would go where the
	// point was a moment ago.
	var at struct{ X, Y float64 }
	at.X, at.Y = hoverAt(b)
	tip := b.hover(at.X, at.Y)
	if !strings.Contains(tip, "item ") || strings.IndexAny(tip, "0123456789") < 0 {
		t.Errorf("tooltip reads %q, want the item's digit label and number", tip)
	}
	b.shot("run-page")

	// 6. Clicking the point lists its neighbours in embedding and input
	// space, with pictures.
	step("select a point", 30*time.Second,
		chromedp.MouseClickXY(at.X, at.Y),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="neighbors-embedding"] li canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="neighbors-input"] li canvas`)),
	)

	// 7. Searching for a class lights up its items; Escape clears it.
	step("search a class", 30*time.Second,
		chromedp.Click(tid("search-input")),
		chromedp.SendKeys(tid("search-input"), "7"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-results"] li`)),
	)
	var method string
	eval("search method", `window.explorer.search().method`, &method)
	if method != "labels" {
		t.Errorf("searching digits for 7 used method %q, want labels", method)
	}
	b.shot("search-class")
	step("clear search", 20*time.Second,
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="search-results"] li`)),
		chromedp.Blur(tid("search-input")),
	)

	// 8. The left arrow steps back through the timeline; "l" follows live.
	var viewing, newest int
	eval("viewing", `window.explorer.epoch()`, &viewing)
	step("step back", 20*time.Second, chromedp.KeyEvent(kb.ArrowLeft))
	poll("looking back", fmt.Sprintf(`window.explorer.epoch() < %d`, viewing), 20*time.Second)
	step("live again", 20*time.Second, chromedp.KeyEvent("l"))
	eval("newest", `window.explorer.newest()`, &newest)
	poll("following live", fmt.Sprintf(`window.explorer.epoch() >= %d`, newest), 20*time.Second)
	step("glide", 20*time.Second, chromedp.Sleep(700*time.Millisecond))
	b.shot("selected")

	// 9. Space resumes the run and epochs arrive again.
	step("space resumes", 20*time.Second, chromedp.KeyEvent(" "))
	poll("running again", `document.querySelector('[data-testid="run-state"]').dataset.state === "running"`, 30*time.Second)
	poll("epochs again", fmt.Sprintf(`window.explorer.newest() > %d`, after), 20*time.Second)

	// 10. Stop, and the page says it is over.
	step("stop", 30*time.Second, chromedp.Click(tid("control-stop")))
	poll("stopped", `document.querySelector('[data-testid="run-state"]').dataset.state === "stopped"`, 30*time.Second)

	b.noProblems()
	t.Logf("browser test took %v", time.Since(start).Round(100*time.Millisecond))
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
