package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/run/search"
	"github.com/contrastive-explorer/explorer/trainer"
)

// Limits of the neighbours and pairs endpoints.
const (
	defaultK     = 10
	maxK         = 100
	defaultPairs = 6
	maxPairs     = 32
)

// neighborsJSON answers GET /api/runs/{id}/neighbors.
type neighborsJSON struct {
	Item      int                `json:"item"`
	Epoch     int                `json:"epoch"`
	Metric    string             `json:"metric"`
	Label     int32              `json:"label"`
	Embedding []search.Neighbour `json:"embedding"` // nearest items in embedding space at Epoch
	Input     []search.Neighbour `json:"input"`     // nearest items in raw input space
	Positives []search.Neighbour `json:"positives"` // nearest items the loss treats as positives (pairs=labels: same label)
	Negatives []search.Neighbour `json:"negatives"` // nearest items the loss treats as negatives: the hardest ones
}

// intParam parses the query parameter name as an integer in [lo, hi], or
// returns def when it is absent.
func intParam(c *echo.Context, name string, def, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, badInput(name, "must be a whole number, got %q", s)
	}
	if v < lo || v > hi {
		return 0, badInput(name, "must be between %d and %d, got %d", lo, hi, v)
	}
	return v, nil
}

// epochParam returns the stored epoch named by the query parameter
// "epoch" (default the run's newest), or a 400/404 error for the client.
func (s *Server) epochParam(c *echo.Context, r *runner.Run) (run.EpochRecord, error) {
	epoch, err := intParam(c, "epoch", r.Summary().Epoch, 0, math.MaxInt32)
	if err != nil {
		return run.EpochRecord{}, err
	}
	return r.Epoch(c.Request().Context(), epoch)
}

func (s *Server) neighbors(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	ds, cfg := r.Dataset().Data, r.Summary().Config
	n := ds.Len()
	if c.QueryParam("item") == "" {
		return badInput("item", "which item? give its index, 0 to %d", n-1)
	}
	item, err := intParam(c, "item", 0, 0, n-1)
	if err != nil {
		return err
	}
	k, err := intParam(c, "k", defaultK, 1, min(maxK, n-1))
	if err != nil {
		return err
	}
	metric := c.QueryParamOr("metric", search.Cosine)
	if metric != search.Cosine && metric != search.Euclidean {
		return badInput("metric", "unknown metric %q (want cosine or euclidean)", metric)
	}
	rec, err := s.epochParam(c, r)
	if err != nil {
		return err
	}
	ep := &search.Epoch{Data: ds, Embeddings: rec.Embeddings, Dim: rec.Dim}
	labelPairs := cfg.Pairs == trainer.PairsLabels || cfg.Pairs == trainer.PairsLabelsAugment
	nb := ep.Neighbours(item, k, metric, labelPairs)
	return c.JSON(http.StatusOK, neighborsJSON{
		Item: item, Epoch: rec.Epoch, Metric: metric, Label: ds.Labels[item],
		Embedding: nb.Embedding, Input: nb.Input, Positives: nb.Positives, Negatives: nb.Negatives,
	})
}

// pairJSON is one example pair of the pairs endpoint.
type pairJSON struct {
	A        int       `json:"a"`
	B        int       `json:"b"`
	LabelA   int32     `json:"label_a"`
	LabelB   int32     `json:"label_b"`
	Positive bool      `json:"positive"`
	Distance float64   `json:"distance"`
	ViewA    []float32 `json:"view_a"` // dense inputs, [] for sparse datasets
	ViewB    []float32 `json:"view_b"`
	TextA    string    `json:"text_a"` // text datasets: the text side A was fed, else ""
	TextB    string    `json:"text_b"`
}

// pairsJSON answers GET /api/runs/{id}/pairs.
type pairsJSON struct {
	Epoch int        `json:"epoch"`
	Pairs []pairJSON `json:"pairs"`
}

// pairs answers GET /api/runs/{id}/pairs?n=6&epoch=E&sample=K: n example
// pairs the loss saw in epoch E (default the newest trained), half of them
// positive. Each epoch keeps trainer.EpochPairs of them; sample K picks the
// K-th group of n, wrapping around, so "Other pairs" shows others. An epoch
// recorded without pairs (by an older explorer) falls back to the live
// trainer's latest batch, when it is the newest.
func (s *Server) pairs(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	n, err := intParam(c, "n", defaultPairs, 1, maxPairs)
	if err != nil {
		return err
	}
	sample, err := intParam(c, "sample", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	newest := r.Summary().Epoch
	out := pairsJSON{Epoch: newest, Pairs: []pairJSON{}}
	if newest < 0 {
		return c.JSON(http.StatusOK, out)
	}
	rec, err := s.epochParam(c, r)
	if run.ErrorCode(err) == run.NotFound && c.QueryParam("epoch") == "" {
		return c.JSON(http.StatusOK, out) // nothing trained yet
	} else if err != nil {
		return err
	}
	out.Epoch = rec.Epoch
	labels := r.Dataset().Data.Labels
	if len(rec.Pairs) > 0 {
		// Positives and negatives are interleaved in the record's halves:
		// each sample takes its share of both.
		var pos, neg []run.PairRecord
		for _, p := range rec.Pairs {
			if p.Positive {
				pos = append(pos, p)
			} else {
				neg = append(neg, p)
			}
		}
		pick := func(from []run.PairRecord, k int) {
			if len(from) == 0 {
				return
			}
			start := sample * k
			for i := range min(k, len(from)) {
				p := from[(start+i)%len(from)]
				va, vb := p.Views()
				out.Pairs = append(out.Pairs, pairJSON{
					A: p.A, B: p.B, LabelA: labels[p.A], LabelB: labels[p.B], Positive: p.Positive, Distance: p.Distance,
					ViewA: orEmpty(va), ViewB: orEmpty(vb), TextA: p.TextA, TextB: p.TextB,
				})
			}
		}
		wantPos := (n + 1) / 2
		pick(pos, wantPos)
		pick(neg, n-len(out.Pairs))
		return c.JSON(http.StatusOK, out)
	}
	if rec.Epoch != newest {
		return c.JSON(http.StatusOK, out)
	}
	for _, p := range r.ExamplePairs(n) {
		out.Pairs = append(out.Pairs, pairJSON{
			A: p.A, B: p.B, LabelA: labels[p.A], LabelB: labels[p.B],
			Positive: p.Positive, Distance: p.Distance,
			ViewA: clamp01(p.XA), ViewB: clamp01(p.XB), TextA: p.TextA, TextB: p.TextB,
		})
	}
	return c.JSON(http.StatusOK, out)
}

func orEmpty(v []float32) []float32 {
	if v == nil {
		return []float32{}
	}
	return v
}

// clamp01 returns v clamped to [0, 1], as the protocol promises views are
// (augmentation noise may push features of non-image data outside).
func clamp01(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = min(max(x, 0), 1)
	}
	return out
}
