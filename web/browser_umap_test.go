package web_test

import (
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// finishedJS is true once the page has had the run's done, which comes
// when every epoch has its frame in the run's projection.
const finishedJS = `(t => t.startsWith("finished") && !t.includes("re-projecting"))(document.querySelector('[data-testid="connection-status"]').textContent)`

// TestBrowserUMAP switches a training digits run from PCA to UMAP in the
// page: the frames that follow are UMAP's (the first started from the PCA
// picture, the next warm), the frame figures name it, the caveat on
// reading such pictures shows, and the final map separates the digits.
func TestBrowserUMAP(t *testing.T) {
	url := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home page", 15*time.Second, chromedp.Navigate(url+"/"), chromedp.WaitVisible(tid("train-button")))
	b.startRun(`{dataset: "digits", epochs: 12}`)
	b.poll("a first PCA frame", `(p => p !== null && p.method === "pca")(window.explorer.projection())`, 60*time.Second)
	var ignored any
	b.eval("switch to UMAP while training", `const s = document.querySelector('[data-testid="projection-method"]');
		s.value = "umap"; s.dispatchEvent(new Event("change")); true`, &ignored)
	b.poll("UMAP frames, to the last epoch", `window.explorer.state() === "done" && (p => p && p.method === "umap")(window.explorer.projection()) && window.explorer.epoch() === 12`, 120*time.Second)
	b.poll("the caveat shows", `!document.querySelector('[data-testid="tsne-caveat"]').hidden`, 5*time.Second)
	quality := b.text("frame-quality")
	if !strings.Contains(quality, "UMAP, 2D") || !strings.Contains(quality, "trustworthiness") || strings.Contains(quality, "KL") {
		t.Errorf("the frame's figures read %q", quality)
	}
	b.shot("umap")
	b.noProblems()
	// done comes once every epoch has its frame (the ones live frames
	// skipped are projected after training): the page says finished.
	b.poll("every epoch projected", finishedJS, 120*time.Second)

	// Every epoch in UMAP, from the run's export of what the page was sent.
	var csvText string
	b.eval("coordinates", `fetch("/api/runs/" + window.explorer.runID + "/export?format=coords.csv").then(r => r.text())`, &csvText)
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("coordinates: %v, %d rows: %.200s", err, len(rows), csvText)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	type point struct {
		x, y  float64
		label string
	}
	byEpoch := map[int][]point{}
	for _, r := range rows[1:] {
		e, _ := strconv.Atoi(r[col["epoch"]])
		x, _ := strconv.ParseFloat(r[col["x"]], 64)
		y, _ := strconv.ParseFloat(r[col["y"]], 64)
		byEpoch[e] = append(byEpoch[e], point{x, y, r[col["label"]]})
	}
	var epochs []int
	for e := range byEpoch {
		epochs = append(epochs, e)
	}
	slices.Sort(epochs)
	if len(epochs) != 13 || epochs[0] != 0 || epochs[12] != 12 {
		t.Fatalf("epochs exported: %v", epochs)
	}
	last := byEpoch[12]
	// 5-NN accuracy of the final map (digits' trained embeddings separate
	// well above 0.9; PCA of them in 2D stays far below).
	hits := 0
	for i, p := range last {
		type nd struct {
			d float64
			l string
		}
		var near []nd
		for j, q := range last {
			if i != j {
				near = append(near, nd{math.Hypot(p.x-q.x, p.y-q.y), q.label})
			}
		}
		slices.SortFunc(near, func(a, b nd) int {
			switch {
			case a.d < b.d:
				return -1
			case a.d > b.d:
				return 1
			}
			return 0
		})
		votes := map[string]int{}
		for _, v := range near[:5] {
			votes[v.l]++
		}
		if votes[p.label] >= 3 {
			hits++
		}
	}
	if acc := float64(hits) / float64(len(last)); acc < 0.9 {
		t.Errorf("5-NN accuracy of the final UMAP map: %.3f, want at least 0.9", acc)
	} else {
		t.Logf("5-NN accuracy of the final UMAP map: %.3f over %d points", acc, len(last))
	}

	// UMAP in 3D: the finished run re-projected, drawn, and its exported
	// frames spread along the third axis too.
	b.eval("UMAP in 3D", `const d = document.querySelector('[data-testid="projection-dims"]');
		d.value = "3"; d.dispatchEvent(new Event("change")); true`, &ignored)
	b.poll("redrawn with UMAP in 3D", `(p => p && p.method === "umap" && p.dims === 3)(window.explorer.projection()) && window.explorer.epoch() === 12`, 120*time.Second)
	if q := b.text("frame-quality"); !strings.Contains(q, "UMAP, 3D") {
		t.Errorf("the 3D frame's figures read %q", q)
	}
	b.shot("umap-3d")
	b.noProblems()
	b.poll("every epoch projected in 3D", finishedJS, 120*time.Second)
	b.eval("3D coordinates", `fetch("/api/runs/" + window.explorer.runID + "/export?format=coords.csv").then(r => r.text())`, &csvText)
	rows, err = csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("3D coordinates: %v, %d rows", err, len(rows))
	}
	zi := slices.Index(rows[0], "z")
	if zi < 0 {
		t.Fatalf("the 3D export has no z column: %v", rows[0])
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows[1:] {
		if r[col["epoch"]] != "12" {
			continue
		}
		z, err := strconv.ParseFloat(r[zi], 64)
		if err != nil {
			t.Fatalf("z %q: %v", r[zi], err)
		}
		lo, hi = min(lo, z), max(hi, z)
	}
	if !(hi-lo > 1e-3) {
		t.Errorf("the final 3D UMAP frame's z spans [%v, %v]: flat", lo, hi)
	}
}
