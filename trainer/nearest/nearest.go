// Package nearest answers the explorer's every "which items are most
// similar?" question by cosine similarity: the kNN accuracy of a trainer's
// epoch and of precomputed vectors, and the search and neighbour rankings
// of the run page. Similarities come from the float32 GEMM of package gemm,
// in chunks of queries that keep the score buffer small; selection is a
// bounded heap, so asking for the k best of n costs n·log k, not a sort.
//
// Ties are broken the same way everywhere: among equal similarities the
// lower row index ranks first.
package nearest

import (
	"math"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
)

// Hit is one row found: its index and its cosine similarity to the query.
type Hit struct {
	Item int
	Sim  float32
}

// better reports whether a ranks before b: higher similarity, then lower
// index.
func better(a, b Hit) bool { return a.Sim > b.Sim || a.Sim == b.Sim && a.Item < b.Item }

// Top returns the k rows with the highest scores, best first, ties to the
// lower index. Rows keep rejects are left out (a nil keep keeps all).
func Top(scores []float32, k int, keep func(int) bool) []Hit {
	return topInto(make([]Hit, 0, max(min(k, len(scores)), 0)), scores, k, keep)
}

// topInto is Top, appending to h[:0].
func topInto(h []Hit, scores []float32, k int, keep func(int) bool) []Hit {
	// h is a min-heap by rank: h[0] is the worst hit kept.
	h = h[:0]
	if k <= 0 {
		return h
	}
	for i, s := range scores {
		if keep != nil && !keep(i) {
			continue
		}
		x := Hit{i, s}
		if len(h) < k {
			h = append(h, x)
			up(h, len(h)-1)
			continue
		}
		if better(x, h[0]) {
			h[0] = x
			down(h, 0)
		}
	}
	// Pop the worst to the back until the heap is sorted best first.
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		down(h[:end], 0)
	}
	return h
}

func up(h []Hit, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func down(h []Hit, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// InverseNorms returns 1/‖row‖ of each row of x (n×d), 0 for a zero row,
// so that a zero vector is similar to nothing (similarity 0).
func InverseNorms(x []float32, d int) []float32 {
	n := len(x) / d
	out := make([]float32, n)
	for i := range n {
		var ss float64
		for _, v := range x[i*d : (i+1)*d] {
			ss += float64(v) * float64(v)
		}
		if ss > 0 {
			out[i] = float32(1 / math.Sqrt(ss))
		}
	}
	return out
}

// Unit scales each row of x (n×d) to unit length in place; zero rows stay
// zero.
func Unit(x []float32, d int) {
	for i, inv := range InverseNorms(x, d) {
		row := x[i*d : (i+1)*d]
		for j := range row {
			row[j] *= inv
		}
	}
}

// Rows is a matrix (n×d, row-major, not copied: it must not change while
// in use) whose rows are compared with queries by cosine similarity.
type Rows struct {
	x   []float32
	d   int
	inv []float32 // 1/‖row‖, 0 for zero rows
}

// NewRows indexes the rows of x (n×d); it costs one pass over x.
func NewRows(x []float32, d int) *Rows {
	return &Rows{x: x, d: d, inv: InverseNorms(x, d)}
}

// Len is the number of rows.
func (r *Rows) Len() int { return len(r.inv) }

// Dim is the number of values of a row.
func (r *Rows) Dim() int { return r.d }

// Row returns row i, shared.
func (r *Rows) Row(i int) []float32 { return r.x[i*r.d : (i+1)*r.d] }

// Sims writes to out (nq×n) the cosine similarity of each of the nq
// queries q (nq×d) to every row; a zero query or row scores 0.
func (r *Rows) Sims(q []float32, nq int, out []float32) {
	n := r.Len()
	gemm.Sgemm(false, true, nq, n, r.d, 1, q[:nq*r.d], r.d, r.x, r.d, 0, out[:nq*n], n)
	qinv := InverseNorms(q[:nq*r.d], r.d)
	for a := range nq {
		row := out[a*n : (a+1)*n]
		for j, inv := range r.inv {
			row[j] *= qinv[a] * inv
		}
	}
}

// Similar returns the k rows most similar to the query q (d values), best
// first, ties to the lower index, leaving out rows keep rejects.
func (r *Rows) Similar(q []float32, k int, keep func(int) bool) []Hit {
	s := make([]float32, r.Len())
	r.Sims(q, 1, s)
	return Top(s, k, keep)
}

// SimilarTo returns the k rows most similar to row i, leaving out i itself
// and the rows keep rejects.
func (r *Rows) SimilarTo(i, k int, keep func(int) bool) []Hit {
	return r.Similar(r.Row(i), k, func(j int) bool { return j != i && (keep == nil || keep(j)) })
}
