package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// layoutProblems lists the visible controls of the page that overlap one
// another or are cut off by the viewport's width, and says if the page
// scrolls sideways.
const layoutProblems = `(() => {
	const sel = 'button, select, input, [data-testid="legend"] li, .run-header h1, .run-status > span:not([hidden]), .run-status > a, label';
	const els = [...document.querySelectorAll(sel)].filter((e) => {
		if (e.closest('[hidden]') || e.type === 'hidden') return false;
		// The content of a closed <details> keeps its boxes but is not drawn.
		const closed = e.closest('details:not([open])');
		if (closed && !e.closest('summary')) return false;
		const r = e.getBoundingClientRect();
		return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
	});
	const name = (e) => (e.dataset.testid || e.tagName.toLowerCase()) + (e.textContent ? ' "' + e.textContent.trim().slice(0, 24) + '"' : '');
	const out = [];
	if (document.documentElement.scrollWidth > innerWidth + 1) out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide in ' + innerWidth);
	const rects = els.map((e) => e.getBoundingClientRect());
	els.forEach((e, i) => {
		const r = rects[i];
		if (r.left < -1 || r.right > innerWidth + 1) out.push(name(e) + ' is cut off (' + Math.round(r.left) + '..' + Math.round(r.right) + ')');
		for (let j = i + 1; j < els.length; j++) {
			const q = rects[j];
			if (e.contains(els[j]) || els[j].contains(e)) continue;
			const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
			const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
			if (w > 2 && h > 2) out.push(name(e) + ' overlaps ' + name(els[j]));
		}
	});
	return out;
})()`

// TestBrowserProjectorLayout opens a finished run in the projector layout
// at 1366x768: large type, the map filling most of the screen with the
// legend and controls beside it, the charts below, nothing overlapping or
// cut off.
func TestBrowserProjectorLayout(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(1366, 768), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	id := b.startRun(`{dataset: "fashion", epochs: 1, batch: 512}`)
	b.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done" && window.explorer.epoch() === 1`, 90*time.Second)
	b.step("projector link", 10*time.Second, chromedp.Click(tid("layout-link")))
	b.poll("projector layout", `location.search === "?layout=projector" && window.explorer && window.explorer.epoch() === 1 && window.explorer.settled()`, 30*time.Second)
	var m struct {
		Font                                   float64
		MapTop, MapBottom, MapWidth, MapHeight float64
		ChartsTop, SideLeft, SideRight         float64
	}
	b.eval("measure", `(() => {
		const map = document.querySelector('.scatter-stack').getBoundingClientRect();
		const side = document.querySelector('.side').getBoundingClientRect();
		return {
			Font: parseFloat(getComputedStyle(document.documentElement).fontSize),
			MapTop: map.top, MapBottom: map.bottom, MapWidth: map.width, MapHeight: map.height,
			ChartsTop: document.querySelector('[data-testid="charts"]').getBoundingClientRect().top,
			SideLeft: side.left, SideRight: side.right,
		};
	})()`, &m)
	t.Logf("projector layout at 1366x768: %+v", m)
	if m.Font < 19 {
		t.Errorf("type is %.0f px, want large type (at least 19 px)", m.Font)
	}
	if m.MapWidth < 0.6*1366 || m.MapHeight < 0.7*768 || m.MapTop > 160 || m.MapBottom > 768 {
		t.Errorf("the map is %.0fx%.0f px at y %.0f..%.0f: want the hero, at least 60%% of the width and 70%% of the height, on screen", m.MapWidth, m.MapHeight, m.MapTop, m.MapBottom)
	}
	if m.ChartsTop < m.MapBottom {
		t.Errorf("the charts start at y %.0f, beside the map (bottom %.0f), want them below", m.ChartsTop, m.MapBottom)
	}
	if m.SideRight > 1366 {
		t.Errorf("the side column runs to x %.0f, off the 1366 px screen", m.SideRight)
	}
	var problems []string
	b.eval("layout", layoutProblems, &problems)
	if len(problems) > 0 {
		t.Errorf("projector layout at 1366x768:\n%s", strings.Join(problems, "\n"))
	}
	b.shot("projector-layout")
	if s := b.evalString(`document.querySelector('[data-testid="layout-link"]').textContent`); s != "Desk layout" {
		t.Errorf("the way back reads %q", s)
	}
	_ = id
	b.noProblems()
}

// TestBrowserPhoneLayout opens the start page and a finished run's page at
// phone size (390x844): nothing overlaps, nothing is cut off, no page
// scrolls sideways.
func TestBrowserPhoneLayout(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	var problems []string
	b.eval("home layout", layoutProblems, &problems)
	if len(problems) > 0 {
		t.Errorf("start page at 390x844:\n%s", strings.Join(problems, "\n"))
	}
	b.shot("phone-home")
	b.startRun(`{dataset: "digits", epochs: 2}`)
	b.poll("finished", `document.querySelector('[data-testid="run-state"]').dataset.state === "done" && window.explorer.epoch() === 2`, 60*time.Second)
	b.eval("run layout", layoutProblems, &problems)
	if len(problems) > 0 {
		t.Errorf("run page at 390x844:\n%s", strings.Join(problems, "\n"))
	}
	b.shot("phone-run")
	b.noProblems()
}

// firstScreenMisses lists the visible controls of the home form that are
// not wholly inside the first screen (the window, unscrolled), and says
// so when the page scrolls sideways.
const firstScreenMisses = `(() => {
	window.scrollTo(0, 0);
	const out = [];
	const form = document.querySelector('[data-testid="train-form"]');
	const controls = [...form.querySelectorAll('input, select, button, label.choice, label.dataset-card')].filter((e) => {
		const box = e.getBoundingClientRect();
		const hiddenInput = e.tagName === 'INPUT' && (e.type === 'radio' || getComputedStyle(e).opacity === '0');
		return !hiddenInput && box.width > 0 && box.height > 0 && e.checkVisibility();
	});
	for (const e of controls) {
		const box = e.getBoundingClientRect();
		if (box.top < 0 || box.bottom > innerHeight || box.left < 0 || box.right > innerWidth) {
			out.push((e.dataset.testid || e.name || e.tagName) + " " + (e.dataset.value || e.dataset.dataset || "") + " at " + Math.round(box.left) + "," + Math.round(box.top) + "-" + Math.round(box.bottom));
		}
	}
	if (document.documentElement.scrollWidth > innerWidth + 1) out.push("the page is " + document.documentElement.scrollWidth + " px wide");
	return out;
})()`

// TestBrowserHomeOneScreen opens the start page at a classroom
// projector's 1366x768: the dataset, the loss, the pairs and Train are all
// inside the first screen, the other settings folded; and at a phone's
// 390x844 nothing overlaps or scrolls sideways.
func TestBrowserHomeOneScreen(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	b.step("home", 15*time.Second, chromedp.EmulateViewport(1366, 768), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	var misses []string
	b.eval("first screen", firstScreenMisses, &misses)
	if len(misses) > 0 {
		t.Errorf("controls of the start page outside the first screen at 1366x768:\n%s", strings.Join(misses, "\n"))
	}
	var controls int
	b.eval("controls", `[...document.querySelectorAll('[data-testid="train-form"] label.choice, [data-testid="train-form"] label.dataset-card, [data-testid="train-button"]')].filter((e) => e.checkVisibility()).length`, &controls)
	if controls < 4+4+5+1 {
		t.Errorf("%d datasets, choices and buttons visible, want the 4 datasets, 4 losses, 5 pair sources and Train", controls)
	}
	var folded bool
	b.eval("folded", `!document.querySelector('[data-testid="more-settings"]').open && !document.querySelector('[data-testid="field-epochs"]').checkVisibility()`, &folded)
	if !folded {
		t.Error("the other settings are not folded")
	}
	b.shot("home-1366x768")

	// Choosing the last dataset keeps Train in the first screen.
	b.step("choose wordnet", 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="wordnet"]`)))
	b.eval("first screen with wordnet", firstScreenMisses, &misses)
	if len(misses) > 0 {
		t.Errorf("with WordNet chosen, outside the first screen:\n%s", strings.Join(misses, "\n"))
	}

	b.step("phone", 15*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")))
	var problems []string
	b.eval("phone layout", layoutProblems, &problems)
	if len(problems) > 0 {
		t.Errorf("start page at 390x844:\n%s", strings.Join(problems, "\n"))
	}
	b.step("unfold", 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="more-settings"] > summary`)))
	b.eval("phone layout unfolded", layoutProblems, &problems)
	if len(problems) > 0 {
		t.Errorf("start page at 390x844 with every setting shown:\n%s", strings.Join(problems, "\n"))
	}
	b.shot("home-390x844")
	b.noProblems()
}
