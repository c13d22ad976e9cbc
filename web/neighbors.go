package web

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Limits of the neighbours and pairs endpoints.
const (
	defaultK     = 10
	maxK         = 100
	defaultPairs = 6
	maxPairs     = 32
)

// Distance metrics of the neighbours endpoint.
const (
	metricCosine    = "cosine"
	metricEuclidean = "euclidean"
)

// neighborJSON is one neighbour: its index, its distance to the query item
// (1 − cosine similarity, or Euclidean) and its label (-1 if none).
type neighborJSON struct {
	Item     int     `json:"item"`
	Distance float64 `json:"distance"`
	Label    int32   `json:"label"`
}

// neighborsJSON answers GET /api/runs/{id}/neighbors.
type neighborsJSON struct {
	Item      int            `json:"item"`
	Epoch     int            `json:"epoch"`
	Metric    string         `json:"metric"`
	Label     int32          `json:"label"`
	Embedding []neighborJSON `json:"embedding"` // nearest items in embedding space at Epoch
	Input     []neighborJSON `json:"input"`     // nearest items in raw input space
	Positives []neighborJSON `json:"positives"` // nearest items the loss treats as positives (pairs=labels: same label)
	Negatives []neighborJSON `json:"negatives"` // nearest items the loss treats as negatives: the hardest ones
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
	metric := c.QueryParamOr("metric", metricCosine)
	if metric != metricCosine && metric != metricEuclidean {
		return badInput("metric", "unknown metric %q (want cosine or euclidean)", metric)
	}
	rec, err := s.epochParam(c, r)
	if err != nil {
		return err
	}
	epoch := rec.Epoch

	emb := distances(rec.Embeddings, rec.Dim, item, metric)
	labels := ds.Labels
	out := neighborsJSON{
		Item: item, Epoch: epoch, Metric: metric, Label: labels[item],
		Embedding: nearest(emb, labels, item, k, nil),
		Input:     nearest(inputDistances(ds, item, metric), labels, item, k, nil),
	}
	labelPairs := cfg.Pairs == trainer.PairsLabels || cfg.Pairs == trainer.PairsLabelsAugment
	if labelPairs && labels[item] != dataset.NoLabel {
		same := func(j int) bool { return labels[j] == labels[item] }
		out.Positives = nearest(emb, labels, item, k, same)
		out.Negatives = nearest(emb, labels, item, k, func(j int) bool { return !same(j) })
	} else {
		// Without label pairs an item's positives are other views of
		// itself (augment), its headword (headword) or items of the same
		// listener (cooccur), none of them another point to highlight; any
		// other item may be a negative.
		out.Positives = []neighborJSON{}
		out.Negatives = out.Embedding
	}
	return c.JSON(http.StatusOK, out)
}

// inputDistances returns the distance of every item of d to item in the
// raw input space, dense or sparse.
func inputDistances(d *dataset.Dataset, item int, metric string) []float64 {
	if d.Sparse == nil {
		return distances(d.X, d.Dim, item, metric)
	}
	m := d.Sparse
	qcols, qvals := m.Row(item)
	q := make(map[int32]float64, len(qcols))
	var qn float64
	for j, c := range qcols {
		v := float64(qvals[j])
		q[c] += v
		qn += v * v
	}
	out := make([]float64, m.Rows())
	for i := range out {
		cols, vals := m.Row(i)
		var dot, rn float64
		for j, c := range cols {
			v := float64(vals[j])
			dot += v * q[c]
			rn += v * v
		}
		out[i] = distanceFrom(dot, rn, qn, metric)
	}
	return out
}

// distanceFrom turns a dot product and two squared norms into a distance.
func distanceFrom(dot, an, bn float64, metric string) float64 {
	if metric == metricEuclidean {
		return math.Sqrt(max(an+bn-2*dot, 0))
	}
	if den := math.Sqrt(an) * math.Sqrt(bn); den > 0 {
		return 1 - dot/den
	}
	return 1 // a zero vector points nowhere: no more similar than orthogonal
}

// distances returns the distance of every row of x (n×d) to row item.
func distances(x []float32, d, item int, metric string) []float64 {
	n := len(x) / d
	q := x[item*d : (item+1)*d]
	out := make([]float64, n)
	var qn float64
	for _, v := range q {
		qn += float64(v) * float64(v)
	}
	for i := range n {
		var dot, rn float64
		for k, v := range x[i*d : (i+1)*d] {
			a := float64(v)
			dot += a * float64(q[k])
			rn += a * a
		}
		out[i] = distanceFrom(dot, rn, qn, metric)
	}
	return out
}

// nearest returns the k items nearest to item by dist, excluding item
// itself and, when keep is not nil, the items it rejects; ties go to the
// lower index.
func nearest(dist []float64, labels []int32, item, k int, keep func(int) bool) []neighborJSON {
	idx := make([]int, 0, len(dist))
	for j := range dist {
		if j != item && (keep == nil || keep(j)) {
			idx = append(idx, j)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(dist[a], dist[b]), cmp.Compare(a, b))
	})
	idx = idx[:min(k, len(idx))]
	out := make([]neighborJSON, len(idx))
	for i, j := range idx {
		out[i] = neighborJSON{Item: j, Distance: dist[j], Label: labels[j]}
	}
	return out
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

func (s *Server) pairs(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	n, err := intParam(c, "n", defaultPairs, 1, maxPairs)
	if err != nil {
		return err
	}
	out := pairsJSON{Epoch: r.Summary().Epoch, Pairs: []pairJSON{}}
	labels := r.Dataset().Data.Labels
	for _, p := range r.ExamplePairs(n) {
		out.Pairs = append(out.Pairs, pairJSON{
			A: p.A, B: p.B, LabelA: labels[p.A], LabelB: labels[p.B],
			Positive: p.Positive, Distance: p.Distance,
			ViewA: clamp01(p.XA), ViewB: clamp01(p.XB), TextA: p.TextA, TextB: p.TextB,
		})
	}
	return c.JSON(http.StatusOK, out)
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
