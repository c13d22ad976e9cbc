package web_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/contrastive-explorer/explorer/web"
)

// classroom starts an explorer, has a teacher train a 6-epoch digits run
// to the end and a student (another browser context) open its link; it
// returns both and the run's id.
func classroom(t *testing.T) (teacher, student *browser, id string) {
	t.Helper()
	base := startExplorer(t, web.Options{})
	teacher = newBrowser(t, nil)
	teacher.step("home", 15*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	id = teacher.startRun(`{dataset: "digits", epochs: 6}`)
	teacher.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done" && window.explorer.epoch() === 6`, 60*time.Second)

	student = teacher.another()
	student.step("student opens the link", 15*time.Second, chromedp.Navigate(base+"/runs/"+id))
	return teacher, student, id
}

// TestBrowserPresenting has a teacher present a finished run to a student
// in another browser context: the student's epoch and selection follow the
// teacher's within 200 ms, "look around on my own" frees them, following
// again catches up, and presenting ends for them when the teacher stops.
func TestBrowserPresenting(t *testing.T) {
	teacher, student, _ := classroom(t)
	student.poll("student sees the run", `window.explorer && window.explorer.epoch() === 6`, 30*time.Second)
	if s := student.evalString(`String(document.querySelector('[data-testid="present-toggle"]').hidden)`); s != "true" {
		t.Error("a student is offered to present someone else's run")
	}

	teacher.step("present", 10*time.Second, chromedp.Click(tid("present-toggle")))
	student.poll("student follows", `window.explorer.follow().followed && window.explorer.follow().following`, 5*time.Second)
	student.poll("follow toggle offered", `!document.querySelector('[data-testid="follow-toggle"]').hidden`, 5*time.Second)

	// within measures, in the pages' shared wall clock, from just before
	// the teacher's action to the student applying it.
	within := func(what string, action chromedp.Action[chromedp.Void], done string) {
		t.Helper()
		var t0 int64
		teacher.eval("clock", `Date.now()`, &t0)
		teacher.step(what, 10*time.Second, action)
		student.poll(what+" followed", done, 5*time.Second)
		var at int64
		student.eval("applied at", `window.explorer.follow().appliedAt`, &at)
		if d := time.Duration(at-t0) * time.Millisecond; d > 200*time.Millisecond {
			t.Errorf("%s: the student followed after %v, want within 200 ms", what, d)
		} else {
			t.Logf("%s: followed after %v", what, d)
		}
	}
	within("step back an epoch", chromedp.KeyEvent(kb.ArrowLeft), `window.explorer.epoch() === 5`)
	teacher.poll("points settled", `window.explorer.settled()`, 10*time.Second)
	var at struct{ X, Y float64 }
	teacher.eval("a point", `window.explorer.screenOf(42)`, &at)
	within("select a point", chromedp.MouseClickXY(at.X, at.Y), `window.explorer.selected().length === 1`)
	var picked []int
	teacher.eval("teacher's selection", `window.explorer.selected()`, &picked)
	var followed []int
	student.eval("student's selection", `window.explorer.selected()`, &followed)
	if len(picked) != 1 || fmt.Sprint(picked) != fmt.Sprint(followed) {
		t.Errorf("the teacher selected %v, the student shows %v", picked, followed)
	}

	// Look around: the student is free; the teacher goes on.
	student.step("look around", 10*time.Second, chromedp.Click(tid("follow-toggle")))
	student.poll("free", `!window.explorer.follow().following`, 5*time.Second)
	teacher.step("teacher steps back again", 10*time.Second, chromedp.KeyEvent(kb.ArrowLeft))
	teacher.poll("teacher at epoch 4", `window.explorer.epoch() === 4`, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	if e := student.evalString(`String(window.explorer.epoch())`); e != "5" {
		t.Errorf("a student looking around was moved to epoch %s", e)
	}
	student.step("follow again", 10*time.Second, chromedp.Click(tid("follow-toggle")))
	student.poll("caught up", `window.explorer.follow().following && window.explorer.epoch() === 4`, 5*time.Second)
	student.shot("student-following")

	teacher.step("stop presenting", 10*time.Second, chromedp.Click(tid("present-toggle")))
	student.poll("presenting over", `!window.explorer.follow().followed && document.querySelector('[data-testid="follow-toggle"]').hidden`, 5*time.Second)
	teacher.noProblems()
	student.noProblems()
}

// TestBrowserHandoff: a teacher who started a run on a laptop hands its
// control to the projector's machine (another browser, its own storage)
// by the one-time link; there the controls work, and the spent link gives
// a third browser nothing.
func TestBrowserHandoff(t *testing.T) {
	base := startExplorer(t, web.Options{})
	laptop := newBrowser(t, nil)
	laptop.step("home", 15*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	laptop.startRun(`{dataset: "digits", epochs: 300}`)
	laptop.step("ask for a link", 10*time.Second, chromedp.Click(tid("handoff-button")), chromedp.WaitVisible(tid("handoff-qr")))
	link := laptop.evalString(`document.querySelector('[data-testid="handoff-link"]').value`)
	laptop.poll("QR code drawn", `document.querySelector('[data-testid="handoff-qr"]').complete && document.querySelector('[data-testid="handoff-qr"]').naturalWidth >= 160`, 5*time.Second)
	laptop.shotOf("handoff-panel", "controls")

	projector := laptop.another()
	projector.step("open the link", 15*time.Second, chromedp.Navigate(link))
	projector.poll("controls", `window.explorer && !document.querySelector('[data-testid="control-pause"]').disabled`, 15*time.Second)
	if strings.Contains(projector.evalString(`location.href`), "handoff=") {
		t.Error("the spent code stays in the address bar")
	}
	projector.step("pause from the projector", 10*time.Second, chromedp.Click(tid("control-pause")))
	projector.poll("paused", `document.querySelector('[data-testid="run-state"]').dataset.state === "paused"`, 15*time.Second)
	laptop.poll("the laptop sees it paused", `document.querySelector('[data-testid="run-state"]').dataset.state === "paused"`, 15*time.Second)

	third := laptop.another()
	third.problems.allow("status of 404")
	third.step("open the spent link", 15*time.Second, chromedp.Navigate(link))
	third.poll("refused", `window.explorer && document.querySelector('[data-testid="error-banner"]').textContent.includes("handover link")`, 15*time.Second)
	if third.evalString(`String(document.querySelector('[data-testid="control-pause"]').disabled)`) != "true" {
		t.Error("a spent link gave a third browser the controls")
	}
	projector.step("stop", 10*time.Second, chromedp.Click(tid("control-stop")))
	laptop.noProblems()
	projector.noProblems()
}

// TestBrowserOwnView: a student picks t-SNE in 3D for their own page while
// the teacher's page stays on the run's PCA 2D; while the teacher presents
// the student sees the run's projection with the selects locked, and gets
// their own back when presenting ends.
func TestBrowserOwnView(t *testing.T) {
	teacher, student, id := classroom(t)
	student.poll("student sees the run", `window.explorer && window.explorer.epoch() === 6 && window.explorer.projection().method === "pca" && window.explorer.settled()`, 30*time.Second)
	// Where 20 points are on screen.
	const positions = `Array.from({length: 20}, (_, k) => window.explorer.screenOf(k * 89))`
	student.shot("student-run-pca-2d")
	var pcaAt []struct{ X, Y float64 }
	student.eval("points in PCA", positions, &pcaAt)
	if student.evalString(`String(document.querySelector('[data-testid="projection-method"]').disabled)`) != "false" {
		t.Fatal("a student cannot choose a projection")
	}
	const choose = `(() => {
		const m = document.querySelector('[data-testid="projection-method"]'), d = document.querySelector('[data-testid="projection-dims"]');
		m.value = "tsne"; d.value = "3"; d.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`
	var ok bool
	student.eval("choose t-SNE 3D", choose, &ok)
	const own = `window.explorer.view() && window.explorer.view().method === "tsne" && window.explorer.projection().method === "tsne" && window.explorer.projection().dims === 3 && window.explorer.settled()`
	student.poll("own t-SNE 3D on the map", own, 90*time.Second)
	student.poll("every epoch in the own view", `document.querySelector('[data-testid="connection-status"]').textContent.startsWith("finished")`, 90*time.Second)
	student.shot("student-own-tsne-3d")
	var tsneAt []struct{ X, Y float64 }
	student.eval("points in t-SNE", positions, &tsneAt)
	moved := 0
	for i := range pcaAt {
		if math.Hypot(pcaAt[i].X-tsneAt[i].X, pcaAt[i].Y-tsneAt[i].Y) > 10 {
			moved++
		}
	}
	if moved < len(pcaAt)/2 {
		t.Errorf("only %d of %d points moved on the map when the student chose t-SNE 3D: the map still draws PCA", moved, len(pcaAt))
	}

	// The teacher's page, and the run, are unmoved.
	var p struct {
		Method string
		Dims   int
	}
	teacher.eval("teacher's projection", `window.explorer.projection()`, &p)
	if p.Method != "pca" || p.Dims != 2 || teacher.evalString(`document.querySelector('[data-testid="projection-method"]').value`) != "pca" {
		t.Errorf("the teacher's page shows %s in %dD after a student chose t-SNE 3D", p.Method, p.Dims)
	}
	if s := teacher.evalString(`fetch("/api/runs/` + id + `").then(r => r.json()).then(j => j.projection.method + "/" + j.projection.dims)`); s != "pca/2" {
		t.Errorf("the run's projection is %s after a student chose their own", s)
	}

	teacher.step("present", 10*time.Second, chromedp.Click(tid("present-toggle")))
	const shared = `window.explorer.view() === null && window.explorer.projection().method === "pca" && window.explorer.projection().dims === 2 && window.explorer.settled()`
	student.poll("the presenter's projection", shared, 30*time.Second)
	if student.evalString(`String(document.querySelector('[data-testid="projection-method"]').disabled)`) != "true" {
		t.Error("a student following the presenter can change the projection")
	}
	student.shot("student-following-presenter")

	teacher.step("stop presenting", 10*time.Second, chromedp.Click(tid("present-toggle")))
	student.poll("own view back", own, 60*time.Second)
	if student.evalString(`String(document.querySelector('[data-testid="projection-dims"]').disabled)`) != "false" {
		t.Error("the selects stay locked after presenting ended")
	}
	teacher.noProblems()
	student.noProblems()
}
