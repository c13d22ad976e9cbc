package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// darkNear counts the dark pixels of a map's overlay (the marks drawn over
// the points) within r CSS pixels of point i of map k.
const darkNear = `((k, i, r) => {
	const c = document.querySelector('[data-testid="overlay-' + "ab"[k] + '"]');
	const p = window.compare.screenOf(k, i), box = c.getBoundingClientRect(), s = c.width / box.width;
	const x0 = Math.max(0, Math.round((p.x - box.left - r) * s)), y0 = Math.max(0, Math.round((p.y - box.top - r) * s));
	const w = Math.round(2 * r * s), d = c.getContext("2d").getImageData(x0, y0, w, w).data;
	let n = 0;
	for (let j = 0; j < d.length; j += 4) if (d[j + 3] > 200 && d[j] < 90 && d[j + 1] < 90 && d[j + 2] < 90) n++;
	return n;
})`

// TestBrowserCompare starts a supcon run on digits in t-SNE and, from its
// page's Compare menu, a second one with one change (triplet), which opens
// their comparison: both maps fill and end aligned, the shared timeline
// moves both maps to the epoch chosen, hovering a point in one map rings
// its twin in the other, and a class picked in the legend is picked out in
// both. The runs page then offers the same comparison for the two runs
// ticked. No page logs an error.
func TestBrowserCompare(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	const epochs = 8
	a := b.startRun(fmt.Sprintf(`{dataset: "digits", loss: "supcon", epochs: %d, projection: "tsne"}`, epochs))
	b.step("open the compare menu", 10*time.Second, chromedp.Click(`[data-testid="compare-menu"] > summary`), chromedp.WaitVisible(tid("compare-loss")))
	b.poll("no other run listed", `document.querySelector('[data-testid="compare-runs"]').textContent.includes("No other run")`, 10*time.Second)
	b.eval("change the loss", `(() => { const s = document.querySelector('[data-testid="compare-loss"]'); s.value = "triplet"; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, nil)
	b.shot("compare-menu")
	b.step("train and compare", 5*time.Second, chromedp.Click(tid("compare-train-button")))
	b.step("compare page", 15*time.Second, chromedp.WaitVisible(tid("compare-timeline")))
	var ids []string
	b.poll("compare page", `window.compare && window.compare.ids().length === 2`, 10*time.Second)
	b.eval("ids", `window.compare.ids()`, &ids)
	c := ids[1]
	if ids[0] != a || c == a {
		t.Fatalf("the comparison is of %v, want %s and a new run", ids, a)
	}
	if title := b.text("compare-title"); !strings.Contains(title, "supcon") || !strings.Contains(title, "triplet") {
		t.Errorf("the comparison is titled %q", title)
	}
	b.poll("both runs in", fmt.Sprintf(`window.compare && window.compare.has(0, %d) && window.compare.has(1, %d) && window.compare.epoch() === %d`, epochs, epochs, epochs), 3*time.Minute)
	b.poll("settled", `window.compare.settled()`, 10*time.Second)
	var gap float64
	b.eval("gap", `window.compare.gap()`, &gap)
	t.Logf("final maps: twins sit %.3f apart (relative to the map's radius)", gap)
	if !(gap < 0.9) {
		t.Errorf("the aligned maps' twins sit %.3f apart; unrelated layouts sit about 1.4 apart", gap)
	}
	for _, k := range []string{"knn", "alignment", "uniformity", "rank", "trust"} {
		for _, side := range []string{"a", "b"} {
			if v := b.text("figure-" + k + "-" + side); v == "" || v == "–" {
				t.Errorf("the table's %s of run %s reads %q", k, side, v)
			}
		}
	}
	b.shot("compare-final")

	// Scrub the shared timeline back to epoch 2: both maps follow.
	b.eval("scrub", `(() => { const r = document.querySelector('[data-testid="compare-timeline"]'); r.value = "2"; r.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, nil)
	b.poll("both maps at epoch 2", `window.compare.epoch() === 2 && window.compare.shownEpochs().join() === "2,2" && window.compare.settled()`, 10*time.Second)
	if got := b.text("panel-b-epoch"); got != fmt.Sprintf("epoch 2 / %d", epochs) {
		t.Errorf("the second map says %q", got)
	}

	// Hover the leftmost point of the first map: its twin is ringed in the second.
	var at struct {
		I    int
		X, Y float64
	}
	b.eval("leftmost point", `(() => { let best = null; for (let i = 0; i < window.compare.points(); i++) { const p = window.compare.screenOf(0, i); if (!best || p.x < best.x) best = {i, x: p.x, y: p.y}; } return best; })()`, &at)
	var before int
	b.eval("marks before", fmt.Sprintf(`%s(1, %d, 14)`, darkNear, at.I), &before)
	b.step("hover", 10*time.Second,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X+3, at.Y+3),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X, at.Y))
	b.poll("hovered", fmt.Sprintf(`window.compare.hover() === %d`, at.I), 5*time.Second)
	var after int
	b.poll("twin ringed", fmt.Sprintf(`%s(1, %d, 14) > %d + 20`, darkNear, at.I, before), 5*time.Second)
	b.eval("marks after", fmt.Sprintf(`%s(1, %d, 14)`, darkNear, at.I), &after)
	t.Logf("dark overlay pixels around the twin: %d before the hover, %d during", before, after)
	if hover := b.text("compare-hover"); !strings.Contains(hover, fmt.Sprintf("item %d", at.I)) {
		t.Errorf("the hover line reads %q", hover)
	}
	b.shot("compare-hover")

	// Pick class 3 in the legend: picked out in both maps.
	b.step("pick a class", 10*time.Second, chromedp.Click(`[data-testid="compare-legend"] button[data-label="3"]`))
	b.poll("class picked", `window.compare.cls() === 3`, 5*time.Second)
	b.shot("compare-class")
	// Both maps in PCA 2D: each stream starts again in it.
	b.eval("switch to PCA", `(() => { const s = document.querySelector('[data-testid="compare-projection"]'); s.value = "pca/2"; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, nil)
	b.poll("both maps in PCA", fmt.Sprintf(`window.compare.has(0, %d) && window.compare.has(1, %d) && window.compare.settled()`, epochs, epochs), time.Minute)
	b.eval("gap", `window.compare.gap()`, &gap)
	t.Logf("PCA maps at epoch %s: twins sit %.3f apart", b.evalString(`String(window.compare.epoch())`), gap)
	if !(gap < 0.6) {
		t.Errorf("the PCA maps, the second turned onto the first, sit %.3f apart", gap)
	}
	b.shot("compare-pca")
	b.eval("scroll to the figures", `(() => { document.querySelector('[data-testid="compare-table"]').scrollIntoView(); return true; })()`, nil)
	b.shot("compare-figures")

	// The runs page: tick both runs and the link opens their comparison.
	b.step("runs page", 15*time.Second, chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(tid("runs-compare")))
	if d := b.evalString(`document.querySelector('[data-testid="runs-compare"]').getAttribute("aria-disabled")`); d != "true" {
		t.Errorf("the compare link is enabled with no run ticked: %s", d)
	}
	for _, id := range []string{a, c} {
		b.step("tick "+id, 5*time.Second, chromedp.Click(fmt.Sprintf(`[data-testid="run-row"][data-run-id=%q] [data-testid="run-pick"]`, id)))
	}
	if href := b.evalString(`document.querySelector('[data-testid="runs-compare"]').getAttribute("href")`); href != "/compare/"+a+"/"+c {
		t.Errorf("the runs page's compare link is %q, want /compare/%s/%s", href, a, c)
	}
	b.noProblems()
}

// TestBrowserProcrustes checks the page's rotation onto a reference layout
// in the browser: a 2D layout reflected and turned, and a 3D one turned
// about a skew axis, come back onto the reference; a layout collapsed to a
// point leaves the other as it is.
func TestBrowserProcrustes(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	var errs []float64
	b.eval("procrustes", `import("/static/procrustes.js").then(({ alignOnto }) => {
		const n = 200, out = [];
		const rng = (() => { let s = 7; return () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5; })();
		const worst = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
		// 2D: turn by 0.9 rad, then reflect x.
		const ref2 = Array.from({ length: 2 * n }, rng), cur2 = [];
		for (let i = 0; i < n; i++) { const [x, y] = [ref2[2 * i], ref2[2 * i + 1]], c = Math.cos(0.9), s = Math.sin(0.9); cur2.push(-(c * x - s * y), s * x + c * y); }
		out.push(worst(alignOnto(ref2, cur2, n, 2), ref2));
		// 3D: a rotation about the axis (1, 2, 2)/3 by 1.3 rad (Rodrigues).
		const ref3 = Array.from({ length: 3 * n }, rng), cur3 = [], k = [1 / 3, 2 / 3, 2 / 3], th = 1.3;
		for (let i = 0; i < n; i++) {
			const v = ref3.slice(3 * i, 3 * i + 3), dot = v[0] * k[0] + v[1] * k[1] + v[2] * k[2];
			const cr = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
			for (let j = 0; j < 3; j++) cur3.push(v[j] * Math.cos(th) + cr[j] * Math.sin(th) + k[j] * dot * (1 - Math.cos(th)));
		}
		out.push(worst(alignOnto(ref3, cur3, n, 3), ref3));
		// A collapsed reference: the layout is left as it is.
		out.push(worst(alignOnto(new Array(2 * n).fill(0), cur2, n, 2), cur2));
		return out;
	})`, &errs)
	t.Logf("largest error: 2D %.2g, 3D %.2g, collapsed %.2g", errs[0], errs[1], errs[2])
	if errs[0] > 1e-5 || errs[1] > 1e-5 || errs[2] > 1e-6 {
		t.Errorf("Procrustes errors %v, want all below 1e-5", errs)
	}
	b.noProblems()
}
