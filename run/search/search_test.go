package search

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// blobs returns n items in 3 classes, dense inputs of 6 values and
// embeddings of 4 (both noisy around a per-class centre).
func blobs(n int) *Epoch {
	rng := rand.New(rand.NewPCG(7, 8))
	const dim, in = 4, 6
	d := &dataset.Dataset{Name: "blobs", Kind: dataset.Vectors, Dim: in, ClassNames: []string{"red", "green", "blue"}}
	emb := make([]float32, n*dim)
	for i := range n {
		l := int32(i % 3)
		d.Labels = append(d.Labels, l)
		d.Splits = append(d.Splits, dataset.Train)
		for range in {
			d.X = append(d.X, float32(rng.NormFloat64()))
		}
		d.X[i*in+int(l)] += 3
		for k := range dim {
			emb[i*dim+k] = float32(rng.NormFloat64())
		}
		emb[i*dim+int(l)] += 2
	}
	return &Epoch{Data: d, Embeddings: emb, Dim: dim}
}

// reference returns the k nearest items to item among those keep accepts,
// by float64 distances, ties to the lower index.
func reference(x []float32, d, item, k int, metric string, keep func(int) bool) []int {
	n := len(x) / d
	dist := make([]float64, n)
	q := x[item*d : (item+1)*d]
	for i := range n {
		var dot, qn, rn, ss float64
		for j, v := range x[i*d : (i+1)*d] {
			a, b := float64(v), float64(q[j])
			dot, qn, rn, ss = dot+a*b, qn+b*b, rn+a*a, ss+(a-b)*(a-b)
		}
		if metric == Euclidean {
			dist[i] = math.Sqrt(ss)
		} else {
			dist[i] = 1 - dot/math.Sqrt(qn*rn)
		}
	}
	var idx []int
	for i := range n {
		if i != item && (keep == nil || keep(i)) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(dist[a], dist[b]), cmp.Compare(a, b)) })
	return idx[:k]
}

func items(nb []Neighbour) []int {
	out := make([]int, len(nb))
	for i, x := range nb {
		out[i] = x.Item
	}
	return out
}

// TestNeighbours: every list of the panel equals a float64 brute force,
// for both metrics, and positives share the item's label.
func TestNeighbours(t *testing.T) {
	e := blobs(300)
	labels := e.Data.Labels
	for _, metric := range []string{Cosine, Euclidean} {
		for _, item := range []int{0, 1, 157} {
			nb := e.Neighbours(item, 8, metric, true)
			same := func(j int) bool { return labels[j] == labels[item] }
			checks := []struct {
				name string
				got  []Neighbour
				want []int
			}{
				{"embedding", nb.Embedding, reference(e.Embeddings, e.Dim, item, 8, metric, nil)},
				{"input", nb.Input, reference(e.Data.X, e.Data.Dim, item, 8, metric, nil)},
				{"positives", nb.Positives, reference(e.Embeddings, e.Dim, item, 8, metric, same)},
				{"negatives", nb.Negatives, reference(e.Embeddings, e.Dim, item, 8, metric, func(j int) bool { return !same(j) })},
			}
			for _, c := range checks {
				if !slices.Equal(items(c.got), c.want) {
					t.Errorf("%s item %d %s: %v, want %v", metric, item, c.name, items(c.got), c.want)
				}
				for i := 1; i < len(c.got); i++ {
					if c.got[i].Distance < c.got[i-1].Distance {
						t.Errorf("%s %s not nearest first: %+v", metric, c.name, c.got)
					}
				}
			}
		}
	}
	if nb := e.Neighbours(4, 5, Cosine, false); len(nb.Positives) != 0 || !slices.Equal(items(nb.Negatives), items(nb.Embedding)) {
		t.Errorf("without label pairs: positives %v, negatives %v", nb.Positives, nb.Negatives)
	}
}

// TestQueryLabels: a class name finds that class's items, the most typical
// (nearest its mean direction) first.
func TestQueryLabels(t *testing.T) {
	e := blobs(90)
	a := e.Query("Green", 5, nil)
	if a.Method != ByLabels || !slices.Equal(a.Classes, []int32{1}) || len(a.Results) != 5 {
		t.Fatalf("query green: %+v", a)
	}
	for i, r := range a.Results {
		if r.Label != 1 || r.Match != "label" || i > 0 && r.Score > a.Results[i-1].Score {
			t.Errorf("result %d %+v: want class 1, best first", i, r)
		}
	}
	if a := e.Query("purple", 5, nil); a.Method != ByNames || len(a.Results) != 0 || a.Classes == nil {
		t.Errorf("query purple: %+v, want no results by names", a)
	}
	s := e.Similar(3, 4)
	if s.Method != ByEmbedding || len(s.Results) != 4 || slices.ContainsFunc(s.Results, func(r Result) bool { return r.Item == 3 }) {
		t.Errorf("similar to 3: %+v", s)
	}
}
