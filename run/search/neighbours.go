package search

import (
	"math"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/nearest"
)

// Distance metrics of Neighbours.
const (
	Cosine    = "cosine"
	Euclidean = "euclidean"
)

// Neighbour is one neighbour: its index, its distance to the query item (1
// − cosine similarity, or Euclidean) and its label (-1 if none).
type Neighbour struct {
	Item     int     `json:"item"`
	Distance float64 `json:"distance"`
	Label    int32   `json:"label"`
}

// Neighbours is the neighbours panel of one item.
type Neighbours struct {
	Embedding []Neighbour // nearest items in embedding space
	Input     []Neighbour // nearest items in raw input space
	Positives []Neighbour // nearest items the loss treats as positives (label pairs: same label)
	Negatives []Neighbour // nearest items the loss treats as negatives: the hardest ones
}

// Neighbours returns the k nearest items to item by metric (Cosine or
// Euclidean). With labelPairs (the run pairs by label), positives and
// negatives are the nearest items of the same and of another class;
// otherwise an item's positives are other views of itself, its headword or
// items of the same listener, none of them another point to highlight, and
// any other item may be a negative.
func (e *Epoch) Neighbours(item, k int, metric string, labelPairs bool) Neighbours {
	labels := e.Data.Labels
	emb := e.distances(item, metric)
	out := Neighbours{
		Embedding: e.nearest(emb, item, k, nil),
		Input:     e.nearest(inputDistances(e.Data, item, metric), item, k, nil),
	}
	if labelPairs && labels[item] != dataset.NoLabel {
		same := func(j int) bool { return labels[j] == labels[item] }
		out.Positives = e.nearest(emb, item, k, same)
		out.Negatives = e.nearest(emb, item, k, func(j int) bool { return !same(j) })
	} else {
		out.Positives = []Neighbour{}
		out.Negatives = out.Embedding
	}
	return out
}

// distances returns the distance of every item's embedding to item's.
func (e *Epoch) distances(item int, metric string) []float64 {
	if metric == Euclidean {
		return euclidean(e.Embeddings, e.Dim, item)
	}
	return cosineDistances(e.index(), item)
}

// cosineDistances returns 1 − the cosine similarity of every row to row
// item (a zero vector is no more similar than an orthogonal one).
func cosineDistances(r *nearest.Rows, item int) []float64 {
	s := make([]float32, r.Len())
	r.Sims(r.Row(item), 1, s)
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = 1 - float64(v)
	}
	return out
}

// euclidean returns the Euclidean distance of every row of x (n×d) to row
// item, accumulated in float64 (no cancellation of a difference of norms).
func euclidean(x []float32, d, item int) []float64 {
	n := len(x) / d
	q := x[item*d : (item+1)*d]
	out := make([]float64, n)
	for i := range n {
		var ss float64
		for k, v := range x[i*d : (i+1)*d] {
			diff := float64(v) - float64(q[k])
			ss += diff * diff
		}
		out[i] = math.Sqrt(ss)
	}
	return out
}

// nearest returns the k items nearest to item by dist, excluding item
// itself and the items keep rejects (nil keeps all); ties go to the lower
// index.
func (e *Epoch) nearest(dist []float64, item, k int, keep func(int) bool) []Neighbour {
	score := make([]float32, len(dist))
	for i, v := range dist {
		score[i] = float32(-v)
	}
	hits := nearest.Top(score, k, func(j int) bool { return j != item && (keep == nil || keep(j)) })
	out := make([]Neighbour, len(hits))
	for i, h := range hits {
		out[i] = Neighbour{Item: h.Item, Distance: dist[h.Item], Label: e.Data.Labels[h.Item]}
	}
	return out
}

// inputDistances returns the distance of every item of d to item in the
// raw input space, dense or sparse.
func inputDistances(d *dataset.Dataset, item int, metric string) []float64 {
	if d.Sparse == nil {
		if metric == Euclidean {
			return euclidean(d.X, d.Dim, item)
		}
		return cosineDistances(nearest.NewRows(d.X, d.Dim), item)
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
		if metric == Euclidean {
			out[i] = math.Sqrt(max(rn+qn-2*dot, 0))
		} else if den := math.Sqrt(rn) * math.Sqrt(qn); den > 0 {
			out[i] = 1 - dot/den
		} else {
			out[i] = 1
		}
	}
	return out
}
