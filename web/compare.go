package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/views"
)

// comparePage serves /compare/{a}/{b}: two runs on the same dataset side by
// side (docs/protocol.md, "Pages"). Whoever may watch both may compare
// them; the page itself only reads their websockets.
func (s *Server) comparePage(c *echo.Context) error {
	ctx := c.Request().Context()
	var rs [2]*runner.Run
	for i, id := range []string{c.Param("a"), c.Param("b")} {
		r, err := s.runs.Get(ctx, id)
		if run.ErrorCode(err) == run.NotFound {
			return render(c, http.StatusNotFound, views.Error(views.ErrorPage{
				Status: http.StatusNotFound, Title: "No such run",
				Message: "There is no run " + strconv.Quote(clipName(id)) + " on this server to compare: it may have been deleted.",
			}))
		} else if err != nil {
			return err
		}
		rs[i] = r
	}
	a, b := rs[0].Summary(), rs[1].Summary()
	if a.Config.Dataset != b.Config.Dataset || rs[0].Dataset().Precomputed {
		msg := fmt.Sprintf("Runs %s and %s are on different datasets: only runs on the same items can be compared point by point.", rs[0].ID(), rs[1].ID())
		if rs[0].Dataset().Precomputed {
			msg = "Run " + rs[0].ID() + " explores finished embeddings: there is no training to compare."
		}
		return render(c, http.StatusBadRequest, views.Error(views.ErrorPage{Status: http.StatusBadRequest, Title: "These runs cannot be compared", Message: msg}))
	}
	if rs[0].ID() == rs[1].ID() {
		return render(c, http.StatusBadRequest, views.Error(views.ErrorPage{Status: http.StatusBadRequest, Title: "Pick two runs",
			Message: "A run compared with itself shows nothing: pick a second run on the same dataset, or train one with one change."}))
	}
	for _, r := range rs {
		if err := s.runs.Share(ctx, r, session(c)); err != nil {
			s.log.Warn("recording a shared run", "run", r.ID(), "err", err)
		}
	}
	la, lb := compareLabels(a.Config.Config, b.Config.Config)
	title := rs[0].Dataset().Data.Title
	p := views.ComparePage{
		Title:   title + ": " + la + " vs " + lb,
		Dataset: title,
		Method:  a.Config.Projection,
		Dims:    a.Config.Dims,
		SwapURL: compareURL(rs[1].ID(), rs[0].ID()),
	}
	for i, r := range rs {
		sum, label := r.Summary(), la
		if i == 1 {
			label = lb
		}
		p.Runs[i] = views.CompareRun{Key: string(rune('a' + i)), ID: r.ID(), Label: label, URL: "/runs/" + r.ID(),
			State: string(sum.State), Epochs: sum.Config.Epochs}
	}
	return render(c, http.StatusOK, views.Compare(p))
}

// compareURL is the address of the comparison of runs a and b.
func compareURL(a, b string) string { return "/compare/" + a + "/" + b }

// compareLabels names two runs by what sets them apart: loss and pairs,
// then every other setting in which they differ.
func compareLabels(a, b trainer.Config) (string, string) {
	la, lb := a.Loss+" · "+a.Pairs, b.Loss+" · "+b.Pairs
	f := strconv.FormatFloat
	settings := []struct {
		name string
		a, b string
	}{
		// The loss's own settings say something only between runs of
		// the same loss: another loss ignores them.
		{"temperature", f(a.Temperature, 'g', -1, 64), f(b.Temperature, 'g', -1, 64)},
		{"margin", f(a.Margin, 'g', -1, 64), f(b.Margin, 'g', -1, 64)},
		{"mining", a.Mining, b.Mining},
		{"lr", f(a.LR, 'g', -1, 64), f(b.LR, 'g', -1, 64)},
		{"batch", strconv.Itoa(a.Batch), strconv.Itoa(b.Batch)},
		{"epochs", strconv.Itoa(a.Epochs), strconv.Itoa(b.Epochs)},
		{"dim", strconv.Itoa(a.Dim), strconv.Itoa(b.Dim)},
		{"hidden", joinInts(a.Hidden), joinInts(b.Hidden)},
		{"optimizer", a.Optimizer, b.Optimizer},
		{"augment", f(a.Augment, 'g', -1, 64), f(b.Augment, 'g', -1, 64)},
		{"seed", strconv.FormatUint(a.Seed, 10), strconv.FormatUint(b.Seed, 10)},
	}
	for k, s := range settings {
		if k < 3 && a.Loss != b.Loss {
			continue
		}
		if s.a != s.b {
			la += " · " + s.name + " " + s.a
			lb += " · " + s.name + " " + s.b
		}
	}
	return la, lb
}
