package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/web"
)

// TestBrowserPresets opens the start page from links: a preset link
// configures every setting, hides and locks what it says, and the run it
// starts has exactly those settings; a bad link leaves the defaults with a
// notice per problem; the teacher's page builds such links; a run page
// links back to its own setup.
func TestBrowserPresets(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	var ignored any

	preset := url.Values{
		"dataset": {"fashion"}, "loss": {"triplet"}, "pairs": {"augment"}, "epochs": {"7"}, "batch": {"64"},
		"lr": {"0.002"}, "optimizer": {"sgd"}, "momentum": {"0.8"}, "weight_decay": {"0.001"}, "schedule": {"cosine"},
		"warmup": {"2"}, "dim": {"16"}, "hidden": {"64,32"}, "embed": {"0"}, "seed": {"42"}, "margin": {"0.3"},
		"mining": {"hard"}, "augment": {"0.4"}, "projection": {"tsne"}, "dims": {"3"},
	}
	link := base + "/?" + preset.Encode() + "&hide=optimizer,momentum&lock=loss,epochs"
	b.step("preset link", 15*time.Second, chromedp.Navigate(link), chromedp.WaitVisible(tid("train-button")))
	var state struct {
		Dataset, Loss, Epochs, Optimizer                                                 string
		EpochsReadOnly, OtherLossDisabled, OptimizerHidden, MomentumHidden, NoticeHidden bool
		Badges                                                                           int
	}
	b.eval("form state", `(() => {
		const f = document.querySelector('[data-testid="train-form"]');
		const v = (n) => f.elements.namedItem(n).value;
		const hidden = (n) => f.elements.namedItem(n).closest('.field').hidden;
		return {
			Dataset: v("dataset"), Loss: v("loss"), Epochs: v("epochs"), Optimizer: v("optimizer"),
			EpochsReadOnly: f.elements.namedItem("epochs").readOnly,
			OtherLossDisabled: f.querySelector('input[name="loss"][value="ntxent"]').disabled,
			OptimizerHidden: hidden("optimizer"), MomentumHidden: hidden("momentum"),
			NoticeHidden: document.querySelector('[data-testid="preset-notice"]').hidden,
			Badges: document.querySelectorAll('[data-testid="locked-badge"]').length,
		};
	})()`, &state)
	if state.Dataset != "fashion" || state.Loss != "triplet" || state.Epochs != "7" || state.Optimizer != "sgd" {
		t.Errorf("the form is not set from the link: %+v", state)
	}
	if !state.EpochsReadOnly || !state.OtherLossDisabled || state.Badges != 2 {
		t.Errorf("locked controls are editable: %+v", state)
	}
	if !state.OptimizerHidden || !state.MomentumHidden {
		t.Errorf("hidden controls are shown: %+v", state)
	}
	if !state.NoticeHidden {
		t.Errorf("a valid link shows a notice: %q", b.text("preset-notice"))
	}
	// Typing into a locked field changes nothing.
	b.step("type into a locked field", 10*time.Second, chromedp.SendKeys(tid("field-epochs"), "9"))
	if v := b.evalString(`document.querySelector('[data-testid="field-epochs"]').value`); v != "7" {
		t.Errorf("the locked epochs field now reads %q", v)
	}

	// "Copy link to this setup" gives the same settings back, with the
	// exercise's hide and lock lists.
	back := setupLink(b, "copy link")
	checkPreset(t, "the start page's setup link", back, preset)
	if q := back.Query(); q.Get("hide") != "optimizer,momentum" || q.Get("lock") != "loss,epochs" {
		t.Errorf("the setup link lost the exercise: hide=%q lock=%q", q.Get("hide"), q.Get("lock"))
	}

	// Train: the run has every setting of the link, hidden ones included.
	b.step("train", 15*time.Second, chromedp.Click(tid("train-button")))
	b.poll("run page", `location.pathname.startsWith("/runs/") && window.explorer`, 30*time.Second)
	id := b.evalString(`window.explorer.runID`)
	resp, err := http.Get(base + "/api/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Config     map[string]any `json:"config"`
		Projection struct {
			Method string `json:"method"`
			Dims   int    `json:"dims"`
		} `json:"projection"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sum)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range preset {
		got := fmt.Sprint(sum.Config[name])
		switch name {
		case "projection":
			got = sum.Projection.Method
		case "dims":
			got = fmt.Sprint(sum.Projection.Dims)
		case "hidden":
			got = strings.Trim(strings.ReplaceAll(fmt.Sprint(sum.Config[name]), " ", ","), "[]")
		}
		if got != want[0] {
			t.Errorf("the run has %s %s, the link said %s", name, got, want[0])
		}
	}

	// The run page links back to its setup.
	checkPreset(t, "the run page's setup link", setupLink(b, "run's setup link"), preset)
	b.eval("stop the run", fmt.Sprintf(`fetch("/api/runs/%s/stop", {method: "POST", headers: {Authorization: "Bearer " + localStorage.getItem("explorer.token.%s")}}).then(r => r.ok)`, id, id), &ignored)

	// A bad link: every problem named, the form at its defaults and usable.
	b.step("bad link", 15*time.Second,
		chromedp.Navigate(base+"/?epochs=abc&loss=nope&batch=99999999&warmup=500&colour=red&hide=wings"),
		chromedp.WaitVisible(tid("preset-notice")))
	var notices []string
	b.eval("notices", `[...document.querySelectorAll('[data-testid="preset-notice"] li')].map(li => li.textContent)`, &notices)
	for _, want := range []string{"epochs", "loss", "batch", "warmup", "colour", "wings"} {
		found := false
		for _, n := range notices {
			found = found || strings.Contains(n, want)
		}
		if !found {
			t.Errorf("no notice names %s: %q", want, notices)
		}
	}
	var valid bool
	b.eval("form valid", `document.querySelector('[data-testid="train-form"]').checkValidity()`, &valid)
	if !valid {
		t.Error("after a bad link the form is not valid")
	}
	b.shot("preset-notice")

	// The teacher's page: tick hide and lock, and the link says so.
	b.step("teacher page", 15*time.Second, chromedp.Navigate(base+"/teach"), chromedp.WaitVisible(tid("teacher-panel")),
		chromedp.Click(tid("teacher-hide-pairs")), chromedp.Click(tid("teacher-lock-dataset")),
		chromedp.SetValue(tid("field-epochs"), "12"))
	b.eval("edit", `document.querySelector('[data-testid="field-epochs"]').dispatchEvent(new Event("input", {bubbles: true})); true`, &ignored)
	teach, err := url.Parse(b.text("teacher-link"))
	if err != nil {
		t.Fatal(err)
	}
	if q := teach.Query(); q.Get("hide") != "pairs" || q.Get("lock") != "dataset" || q.Get("epochs") != "12" {
		t.Errorf("the exercise link reads %s", teach)
	}
	b.shot("teacher")
	b.noProblems()
}

// setupLink presses "Copy link to this setup" and returns the link shown.
func setupLink(b *browser, name string) *url.URL {
	b.t.Helper()
	b.step(name, 10*time.Second, chromedp.Click(tid("copy-link")), chromedp.WaitVisible(tid("setup-link-url")))
	u, err := url.Parse(b.evalString(`document.querySelector('[data-testid="setup-link-url"]').href`))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// checkPreset checks that link carries every setting of want.
func checkPreset(t *testing.T, what string, link *url.URL, want url.Values) {
	t.Helper()
	for name, v := range want {
		if got := link.Query().Get(name); got != v[0] {
			t.Errorf("%s has %s=%q, want %q", what, name, got, v[0])
		}
	}
}

// TestBrowserDatasetChoosesPairs: choosing a dataset chooses its defaults:
// listening histories pairs by co-occurrence (before, the form always sent
// labels), temperature 0.1 and 5 epochs; WordNet its learning rate; digits
// again labels. A link's pairs win over its dataset's.
func TestBrowserDatasetChoosesPairs(t *testing.T) {
	base := startExplorer(t, web.Options{})
	b := newBrowser(t, nil)
	pairs := `document.querySelector('input[name="pairs"]:checked').value`
	b.step("home", 15*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("train-button")),
		chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="interactions"]`)))
	if p := b.evalString(pairs); p != "cooccur" {
		t.Errorf("listening histories chosen, pairs %q", p)
	}
	field := func(name string) string {
		return b.evalString(`document.querySelector('[data-testid="field-` + name + `"]').value`)
	}
	if e, temp, sch := field("epochs"), field("temperature"), field("schedule"); e != "5" || temp != "0.1" || sch != "cosine" {
		t.Errorf("listening histories chosen: epochs %q, temperature %q, schedule %q; want their defaults 5, 0.1, cosine", e, temp, sch)
	}
	b.step("wordnet", 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="wordnet"]`)))
	if lr, e, temp := field("lr"), field("epochs"), field("temperature"); lr != "0.003" || e != "20" || temp != "" {
		t.Errorf("WordNet chosen: lr %q, epochs %q, temperature %q; want 0.003, 20 and the loss's default", lr, e, temp)
	}
	b.step("digits", 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="dataset-card"][data-dataset="digits"]`)))
	if p := b.evalString(pairs); p != "labels" {
		t.Errorf("digits chosen again, pairs %q", p)
	}
	b.step("a link", 15*time.Second, chromedp.Navigate(base+"/?pairs=augment&dataset=fashion"), chromedp.WaitVisible(tid("train-button")))
	if p := b.evalString(pairs); p != "augment" {
		t.Errorf("a link with pairs=augment&dataset=fashion gives pairs %q", p)
	}
	b.noProblems()
}
