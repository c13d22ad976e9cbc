package web_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// startRun creates a run through the API from the page (so the page's
// session cookie applies), keeps its token the way the home page does and
// opens its page. It returns the run's id.
func (b *browser) startRun(config string) string {
	b.t.Helper()
	var id string
	b.eval("create run", `fetch("/api/runs", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(`+config+`)})
		.then(async (r) => { const j = await r.json(); if (!r.ok) throw new Error(j.error); return j; })
		.then((j) => { localStorage.setItem("explorer.token." + j.id, j.token); return j.id; })`, &id)
	b.step("open run "+id, 15*time.Second, chromedp.Navigate(pageURL(b)+"/runs/"+id))
	b.poll("run page ready", `window.explorer && window.explorer.runID === `+fmt.Sprintf("%q", id), 10*time.Second)
	return id
}

// pageURL returns the origin of the page the browser shows.
func pageURL(b *browser) string {
	var origin string
	b.eval("origin", `location.origin`, &origin)
	return origin
}

// hoverAt returns where the leftmost point is on screen, once the points
// have stopped gliding.
func hoverAt(b *browser) (float64, float64) {
	return extremePoint(b, "left")
}

// extremePoint returns the screen position of the point furthest to one
// side ("left" or "bottom"), once the points have stopped gliding: no other
// point can cover it.
func extremePoint(b *browser, side string) (float64, float64) {
	b.poll("points settled", `window.explorer.settled()`, 30*time.Second)
	var at struct{ X, Y float64 }
	b.eval("extreme point", fmt.Sprintf(`(() => {
		const e = window.explorer, side = %q; let best = null;
		const better = (p) => side === "left" ? p.x < best.x : p.y > best.y;
		for (let i = 0; i < e.points(); i++) { const p = e.screenOf(i); if (!best || better(p)) best = p; }
		return {x: best.x, y: best.y};
	})()`, side), &at)
	return at.X, at.Y
}

// hoverLeftmost moves the mouse onto the leftmost point and waits for the
// tooltip; it returns the tooltip's text.
func (b *browser) hoverLeftmost() string {
	b.t.Helper()
	return b.hover(hoverAt(b))
}

// hover moves the mouse onto (x, y) and waits for the tooltip; it returns
// the tooltip's text.
func (b *browser) hover(x, y float64) string {
	b.t.Helper()
	b.step("hover", 30*time.Second,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+3, y+3),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.WaitVisible(tid("tooltip")),
	)
	return b.text("tooltip")
}

// clearSearch empties the search field as a learner would.
const clearSearch = `(() => { const i = document.querySelector('[data-testid="search-input"]'); i.value = ""; i.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`

// TestBrowserText watches a run on WordNet definitions: hovering a point
// shows its definition, clicking it lists neighbours as sentences, and a
// search finds and highlights definitions.
func TestBrowserText(t *testing.T) {
	start := time.Now()
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("train-button")))
	b.startRun(`{dataset: "wordnet", epochs: 3, batch: 256, dim: 16, hidden: "64"}`)
	b.poll("finished", `window.explorer.state() === "done" && window.explorer.epoch() === 3`, 3*time.Minute)

	tip := b.hoverLeftmost()
	if len(strings.Fields(tip)) < 4 {
		t.Errorf("tooltip reads %q, want the item's definition", tip)
	}
	// The words a definition defines come first, in bold.
	if head := b.evalString(`document.querySelector('[data-testid="tooltip"] .tooltip-words strong')?.textContent || ""`); head == "" || !strings.HasPrefix(tip, head+":") {
		t.Errorf("tooltip reads %q, want the headword %q first", tip, head)
	}
	b.shot("text-tooltip")
	b.step("select", 10*time.Second, chromedp.MouseClickXY(hoverAt(b)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="neighbors-embedding"] li`)))
	b.shotOf("text-neighbours", "neighbors-panel")
	b.shotOf("text-pairs", "pair-panel")

	// Search: typing a query lists matching definitions and lights them up
	// on the map.
	b.step("search", 10*time.Second,
		chromedp.Click(tid("search-input")),
		chromedp.SendKeys(tid("search-input"), "artery"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-results"] li`)),
	)
	var found struct {
		Items []int
		Texts []string
	}
	b.eval("search results", `({
		items: window.explorer.search().items,
		texts: [...document.querySelectorAll('[data-testid="search-results"] li')].map((li) => li.textContent),
	})`, &found)
	if len(found.Items) == 0 || len(found.Texts) == 0 {
		t.Fatalf("search for artery: %d items highlighted, %d listed", len(found.Items), len(found.Texts))
	}
	if !strings.Contains(strings.ToLower(found.Texts[0]), "arter") {
		t.Errorf("the best result for artery reads %q", found.Texts[0])
	}
	b.step("glide", 5*time.Second, chromedp.Sleep(300*time.Millisecond))
	b.shot("text-search")
	// A word finds its own definition first; a category's name lights the
	// category.
	for _, q := range []struct{ q, js string }{
		{"Piranga", `window.explorer.search()?.q === "Piranga" && document.querySelector('[data-testid="search-results"] li')?.textContent.includes("Piranga:")`},
		{"animal", `window.explorer.search()?.q === "animal" && window.explorer.search().method === "labels"`},
	} {
		b.eval("clear the search", clearSearch, new(bool))
		b.step("search "+q.q, 10*time.Second, chromedp.SendKeys(tid("search-input"), q.q))
		b.poll("results for "+q.q, q.js, 10*time.Second)
	}
	b.eval("clear the search", clearSearch, new(bool))
	b.step("search artery again", 10*time.Second, chromedp.SendKeys(tid("search-input"), "artery"))
	b.poll("artery again", `window.explorer.search()?.q === "artery"`, 10*time.Second)
	// Clicking a result selects that item.
	b.step("select a result", 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="search-results"] li`)))
	b.poll("result selected", `document.querySelector('[data-testid="selected-words"]') !== null`, 5*time.Second)

	// Synthetic listening histories: the tracks' names in the tooltip, and
	// a badge that says the data is made up.
	b.startRun(`{dataset: "interactions", pairs: "cooccur", epochs: 2, dim: 16, hidden: "64"}`)
	b.step("synthetic badge", 10*time.Second, chromedp.WaitVisible(tid("synthetic-badge")))
	b.poll("interactions finished", `window.explorer.state() === "done" && window.explorer.epoch() === 2`, 3*time.Minute)
	if tip := b.hoverLeftmost(); len(strings.TrimSpace(strings.SplitN(tip, "item ", 2)[0])) < 3 {
		t.Errorf("tooltip reads %q, want the track's name", tip)
	}
	b.shot("names-tooltip")
	b.noProblems()
	t.Logf("text browser test took %v", time.Since(start).Round(100*time.Millisecond))
}

// writeClusters writes a CSV of n rows in three labelled clusters of four
// features: a small dataset that trains in moments.
func writeClusters(t *testing.T, path string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	sb.WriteString("a,b,c,d,label\n")
	names := []string{"alpha", "beta", "gamma"}
	for i := range n {
		k := i % 3
		fmt.Fprintf(&sb, "%.3f,%.3f,%.3f,%.3f,%s\n",
			float64(k)+rng.NormFloat64()*0.3, float64(2-k)+rng.NormFloat64()*0.3,
			rng.NormFloat64()*0.3, float64(k%2)+rng.NormFloat64()*0.3, names[k])
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserUpload uploads a CSV through the home page's upload zone: a
// broken file first, whose error names file, line and column, then a good
// one, which becomes the selected dataset card; a run on it trains and
// draws every row.
func TestBrowserUpload(t *testing.T) {
	start := time.Now()
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.csv")
	if err := os.WriteFile(bad, []byte("a,b,label\n1,2,x\n3,oops,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "clusters.csv")
	writeClusters(t, good, 90)

	b.step("home page", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("upload-zone")))

	// A broken file: the status shows the server's message, which says where.
	b.problems.allow("status of 400 (Bad Request) (" + url + "/api/datasets")
	b.step("upload a broken file", 10*time.Second, chromedp.SetUploadFiles(tid("upload-input"), []string{bad}))
	b.poll("upload refused", `document.querySelector('[data-testid="upload-status"]').dataset.kind === "error"`, 15*time.Second)
	if msg := b.text("upload-status"); !strings.Contains(msg, "broken.csv, line 3, column 2:") {
		t.Errorf("upload-status reads %q, want the server's message naming file, line and column", msg)
	}
	b.shot("upload-error")

	// A good file: listed, offered as a card and selected.
	b.step("upload a good file", 10*time.Second, chromedp.SetUploadFiles(tid("upload-input"), []string{good}))
	b.poll("upload accepted", `document.querySelector('[data-testid="upload-status"]').dataset.kind === "ok"`, 15*time.Second)
	var id string
	b.eval("uploaded dataset", `document.querySelector('[data-testid="dataset-card"] input[name="dataset"]:checked').value`, &id)
	if !strings.HasPrefix(id, "u-") {
		t.Errorf("the selected dataset is %q, want the new upload", id)
	}
	if got := b.text("upload-list"); !strings.Contains(got, "clusters") {
		t.Errorf("upload-list reads %q, want the new upload", got)
	}
	b.shotOf("upload-done", "upload-zone")
	b.shot("upload-home")

	// Dropping a file anywhere on the page uploads it too.
	var dropped bool
	b.eval("drop a file", `(() => {
		const rows = ["x,y,label"];
		for (let i = 0; i < 30; i++) rows.push((i % 3) + "," + ((i * 7) % 5) + "," + ["p", "q", "r"][i % 3]);
		const dt = new DataTransfer();
		dt.items.add(new File([rows.join("\n") + "\n"], "dropped.csv", {type: "text/csv"}));
		const zone = document.querySelector('[data-testid="upload-zone"]');
		zone.dispatchEvent(new DragEvent("dragenter", {dataTransfer: dt, bubbles: true}));
		const highlighted = zone.classList.contains("dragging");
		zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return highlighted;
	})()`, &dropped)
	if !dropped {
		t.Error("dragging a file over the page does not highlight the upload zone")
	}
	b.poll("drop accepted", `document.querySelector('[data-testid="upload-status"]').textContent.startsWith("dropped.csv: 30 items")`, 15*time.Second)
	// Remove asks first: one press arms it, the second deletes.
	removeDropped := `[...document.querySelectorAll('[data-testid="upload-list"] li')].find((li) => li.textContent.includes("dropped"))?.querySelector(".upload-remove")`
	var label string
	b.eval("press Remove once", `(() => { const b = `+removeDropped+`; b.click(); return b.textContent; })()`, &label)
	if label != "Remove for good?" || !strings.Contains(b.text("upload-list"), "dropped") {
		t.Errorf("after one press Remove reads %q (list %q), want it to ask and keep the upload", label, b.text("upload-list"))
	}
	b.eval("press it again", `(() => { `+removeDropped+`.click(); return true; })()`, new(bool))
	b.poll("upload removed", `!document.querySelector('[data-testid="upload-list"]').textContent.includes("dropped")`, 10*time.Second)
	b.step("back to the first upload", 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="`+id+`"]`)))

	// Train on it.
	b.step("train", 15*time.Second,
		chromedp.SetValue(tid("field-epochs"), "5"),
		chromedp.SetValue(tid("field-batch"), "32"),
		chromedp.Click(tid("train-button")),
	)
	b.poll("run page", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.points() === 90`, 15*time.Second)
	b.poll("trained", `window.explorer.state() === "done" && window.explorer.epoch() === 5`, 3*time.Minute)
	var dataURL string
	b.eval("snapshot", `window.explorer.snapshot()`, &dataURL)
	if n, err := paletteColours(dataURL); err != nil || n < 3 {
		t.Errorf("the scatter shows %d class colours (%v), want the 3 clusters'", n, err)
	}
	b.shot("upload-run")

	// Embedding Projector vectors with their metadata: explored, not
	// trained.
	vectors, meta := filepath.Join(dir, "vectors.tsv"), filepath.Join(dir, "metadata.tsv")
	writeProjector(t, vectors, meta, 60)
	b.step("home again", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("upload-zone")))
	b.step("upload vectors", 10*time.Second,
		chromedp.SetUploadFiles(tid("upload-metadata"), []string{meta}),
		chromedp.SetUploadFiles(tid("upload-input"), []string{vectors}),
	)
	b.poll("vectors accepted", `document.querySelector('[data-testid="upload-status"]').dataset.kind === "ok"`, 15*time.Second)
	b.poll("precomputed hint", `!document.querySelector('[data-testid="precomputed-hint"]').hidden`, 5*time.Second)
	b.step("explore", 15*time.Second, chromedp.Click(tid("train-button")))
	b.poll("explored", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.points() === 60 && window.explorer.epoch() === 0`, 15*time.Second)
	b.step("precomputed page", 10*time.Second,
		chromedp.WaitVisible(tid("precomputed-note")),
		chromedp.WaitNotVisible(tid("charts")),
		chromedp.WaitNotVisible(tid("control-pause")),
	)
	if tip := b.hoverLeftmost(); !strings.Contains(tip, "point ") {
		t.Errorf("tooltip reads %q, want the point's name from metadata.tsv", tip)
	}
	b.shot("upload-precomputed")
	b.noProblems()
	t.Logf("upload browser test took %v", time.Since(start).Round(100*time.Millisecond))
}

// writeProjector writes Embedding Projector files: n vectors of 6 numbers in
// two groups, and a metadata.tsv naming and labelling each.
func writeProjector(t *testing.T, vectors, meta string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	var v, m strings.Builder
	m.WriteString("name\tlabel\n")
	for i := range n {
		k := i % 2
		for j := range 6 {
			if j > 0 {
				v.WriteByte('\t')
			}
			fmt.Fprintf(&v, "%.4f", float64(k*(j%2))*2+rng.NormFloat64()*0.4)
		}
		v.WriteByte('\n')
		fmt.Fprintf(&m, "point %d\t%s\n", i, []string{"left", "right"}[k])
	}
	if err := os.WriteFile(vectors, []byte(v.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserUploadColumns is a newcomer's first upload at both the
// projector's and a phone's size: an iris-like table of 300 rows whose
// class is in a column named species. The options panel opens with the
// columns; the learner chooses species as the label there, uploads, and
// one press of Train starts a run (the batch fits the 240 training rows
// by itself) that colours the points by species.
func TestBrowserUploadColumns(t *testing.T) {
	url := startExplorer(t, web.Options{MaxRuns: 2})
	dir := t.TempDir()
	file := filepath.Join(dir, "iris.csv")
	var sb strings.Builder
	sb.WriteString("sepal_length,sepal_width,petal_length,species\n")
	rng := rand.New(rand.NewPCG(3, 4))
	species := []string{"setosa", "versicolor", "virginica"}
	for i := range 300 {
		k := i % 3
		fmt.Fprintf(&sb, "%.2f,%.2f,%.2f,%s\n", 5+float64(k)+rng.NormFloat64()*0.3, 3-0.5*float64(k)+rng.NormFloat64()*0.3,
			1.5+2*float64(k)+rng.NormFloat64()*0.3, species[k])
	}
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"projector", 1366, 768}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			b := newBrowser(t, nil)
			b.step("home", 15*time.Second, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("upload-zone")))
			b.step("choose the file", 10*time.Second, chromedp.SetUploadFiles(tid("upload-input"), []string{file}))
			b.poll("columns shown", `!document.querySelector('[data-testid="upload-columns"]').hidden`, 15*time.Second)
			if msg := b.text("upload-columns-help"); !strings.Contains(msg, "iris.csv") || !strings.Contains(msg, "species") {
				t.Errorf("the columns panel says %q, want the file and its column of words", msg)
			}
			// The page guessed; the learner says so in the panel.
			var roles string
			b.eval("choose species as the label", `(() => {
				const sel = document.querySelector('[data-testid="upload-role"][data-column="species"]');
				sel.value = "label";
				sel.dispatchEvent(new Event("change", {bubbles: true}));
				return [...document.querySelectorAll('[data-testid="upload-role"]')].map((s) => s.dataset.column + "=" + s.value).join(" ");
			})()`, &roles)
			if roles != "species=label sepal_length=feature sepal_width=feature petal_length=feature" {
				t.Errorf("roles %q", roles)
			}
			b.shot("upload-columns-" + size.name)
			b.step("upload", 10*time.Second, chromedp.Click(tid("upload-confirm")))
			b.poll("uploaded", `document.querySelector('[data-testid="upload-status"]').dataset.kind === "ok"`, 15*time.Second)
			if msg := b.text("upload-status"); !strings.Contains(msg, "300 items") || !strings.Contains(msg, "3 classes") {
				t.Errorf("upload-status reads %q, want 300 items in 3 classes", msg)
			}
			var batch string
			b.eval("batch", `document.querySelector('[data-testid="field-batch"]').value`, &batch)
			if batch != "240" {
				t.Errorf("the batch is %s, want the 240 training rows", batch)
			}
			if help := b.evalString(`document.querySelector('[data-testid="field-batch"]').closest('.field').querySelector('.field-help').textContent`); !strings.Contains(help, "Set to 240") {
				t.Errorf("the batch's help reads %q, want it to say the batch was cut to the 240 rows", help)
			}
			b.step("train", 15*time.Second, chromedp.Click(tid("train-button")))
			b.poll("run page", `location.pathname.startsWith("/runs/") && window.explorer && window.explorer.points() === 300`, 15*time.Second)
			b.poll("training", `window.explorer.epoch() >= 1`, 60*time.Second)
			var dataURL string
			b.eval("snapshot", `window.explorer.snapshot()`, &dataURL)
			if n, err := paletteColours(dataURL); err != nil || n < 3 {
				t.Errorf("the map shows %d class colours (%v), want the 3 species'", n, err)
			}
			b.shot("upload-columns-run-" + size.name)
			b.noProblems()
		})
	}
}

// TestBrowserUnlabelledRun trains on an upload without labels: the
// accuracy chart says there is nothing to score instead of drawing zeros,
// and ? lists the page's keys (Escape closes the list).
func TestBrowserUnlabelledRun(t *testing.T) {
	url := startExplorer(t, web.Options{MaxRuns: 2})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("upload-zone")))
	var id string
	b.eval("upload", `(async () => {
		const rows = ["x,y,z"];
		for (let i = 0; i < 60; i++) rows.push((i % 3) + "," + ((i * 7) % 5) + "," + (i % 4));
		const fd = new FormData();
		fd.append("file", new File([rows.join("\n") + "\n"], "points.csv", {type: "text/csv"}));
		const r = await fetch("/api/datasets", {method: "POST", body: fd});
		const j = await r.json();
		if (!r.ok) throw new Error(j.error);
		return j.id;
	})()`, &id)
	b.startRun(`{dataset: "` + id + `", pairs: "augment", epochs: 2, batch: 16}`)
	b.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done"`, 60*time.Second)
	b.poll("no accuracy", `(() => { const p = document.querySelector('[data-testid="chart-knn-none"]'); return !!p && p.checkVisibility() && document.querySelector('[data-testid="chart-knn"]').hidden; })()`, 5*time.Second)
	b.step("? lists the keys", 5*time.Second, chromedp.KeyEvent("?"))
	b.poll("key list", `document.querySelector('[data-testid="key-help"]')?.checkVisibility() && document.querySelector('[data-testid="key-help"]').textContent.includes("previous or next epoch")`, 5*time.Second)
	b.shot("unlabelled-run-keys")
	b.step("Escape closes it", 5*time.Second, chromedp.KeyEvent("\u001b"))
	b.poll("key list closed", `document.querySelector('[data-testid="key-help"]').hidden`, 5*time.Second)
	b.noProblems()
}
