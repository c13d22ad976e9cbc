package nearest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTop: the heap selection equals a full sort (score descending, index
// ascending) for every k, with many ties and a filter.
func TestTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 100, 1000} {
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = float32(rng.IntN(20)) / 4 // ties on purpose
		}
		keep := func(i int) bool { return i%3 != 0 }
		for _, k := range []int{0, 1, 5, 50, n, n + 3} {
			for _, kf := range []func(int) bool{nil, keep} {
				var want []Hit
				for i, s := range scores {
					if kf == nil || kf(i) {
						want = append(want, Hit{i, s})
					}
				}
				slices.SortFunc(want, func(a, b Hit) int { return cmp.Or(cmp.Compare(b.Sim, a.Sim), cmp.Compare(a.Item, b.Item)) })
				want = want[:min(max(k, 0), len(want))]
				got := Top(scores, k, kf)
				if len(want) == 0 && len(got) == 0 {
					continue
				}
				if !slices.Equal(got, want) {
					t.Fatalf("n=%d k=%d filtered=%v: got %v, want %v", n, k, kf != nil, got, want)
				}
			}
		}
	}
}

// TestSims: the GEMM-backed similarities match a float64 cosine within
// float32 rounding, and zero rows or queries score 0.
func TestSims(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, nq = 300, 37, 5
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	clear(x[7*d : 8*d]) // a zero row
	q := make([]float32, nq*d)
	for i := range q {
		q[i] = float32(rng.NormFloat64()) * 10
	}
	clear(q[2*d : 3*d]) // a zero query
	r := NewRows(x, d)
	out := make([]float32, nq*n)
	r.Sims(q, nq, out)
	for a := range nq {
		for j := range n {
			var dot, qn, rn float64
			for k := range d {
				dot += float64(q[a*d+k]) * float64(x[j*d+k])
				qn += float64(q[a*d+k]) * float64(q[a*d+k])
				rn += float64(x[j*d+k]) * float64(x[j*d+k])
			}
			want := 0.0
			if qn > 0 && rn > 0 {
				want = dot / math.Sqrt(qn*rn)
			}
			if got := float64(out[a*n+j]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("query %d row %d: similarity %v, want %v", a, j, got, want)
			}
		}
	}
	hits := r.SimilarTo(3, 4, nil)
	if len(hits) != 4 || slices.ContainsFunc(hits, func(h Hit) bool { return h.Item == 3 }) {
		t.Fatalf("SimilarTo(3) = %v: want 4 hits without row 3", hits)
	}
	self := r.Similar(r.Row(3), 1, nil)
	if self[0].Item != 3 || math.Abs(float64(self[0].Sim)-1) > 1e-5 {
		t.Errorf("the row most similar to row 3 is %v, want row 3 at 1", self)
	}
}

// TestKNN checks the vote and both tie-breaks on a tiny 2-D set with K
// limited to the 4 training rows: a 2–2 vote goes to the class of the
// nearest neighbour, and the accuracy counts it.
func TestKNN(t *testing.T) {
	s := float32(math.Sqrt(0.5))
	train := []float32{1, 0, s, s, 0, 1, -1, 0} // A, B, B, A
	c := NewKNN(train, 2, []int32{0, 1, 1, 0}, 4)
	test := []float32{
		1, 0.01, // neighbours A, B, B, A: 2–2, nearest A
		0.01, 1, // neighbours B, B, A, A: 2–2, nearest B
		2 * s, 2 * s, // not unit: nearest B
	}
	if got, want := c.Accuracy(test, []int32{0, 0, 1}), 2.0/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("accuracy %v, want %v", got, want)
	}
	c.SetTrain([]float32{-1, 0, s, s, 0, 1, 1, 0}) // rows 0 and 3 swap places
	if got := c.Vote([]float32{0.9, 0.1, 0.1, 0.9}); got != 0 {
		t.Errorf("vote %d, want 0 (ties on votes go to the best ranked)", got)
	}
	if got := NewKNN(nil, 1, []int32{0, 1, 1}, 2).Vote([]float32{0.5, 0.5, 0.9}); got != 1 {
		t.Errorf("vote %d, want 1", got)
	}
}

// TestKNNChunks: more queries than one chunk score as a brute-force
// classifier does.
func TestKNNChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d, ntrain, ntest, classes = 8, 700, chunk*2 + 17, 4
	gen := func(m int) ([]float32, []int32) {
		x, l := make([]float32, m*d), make([]int32, m)
		for i := range m {
			l[i] = int32(rng.IntN(classes))
			for k := range d {
				x[i*d+k] = float32(rng.NormFloat64())
			}
			x[i*d+int(l[i])] += 2
		}
		return x, l
	}
	train, tl := gen(ntrain)
	test, el := gen(ntest)
	c := NewKNN(train, d, tl, 5)
	got := c.Accuracy(test, el)
	r := NewRows(train, d)
	correct := 0
	for i := range ntest {
		hits := r.Similar(test[i*d:(i+1)*d], 5, nil)
		votes := map[int32]int{}
		for _, h := range hits {
			votes[tl[h.Item]]++
		}
		top, label := 0, int32(-1)
		for _, h := range hits {
			if votes[tl[h.Item]] > top {
				top, label = votes[tl[h.Item]], tl[h.Item]
			}
		}
		if label == el[i] {
			correct++
		}
	}
	if want := float64(correct) / ntest; got != want {
		t.Errorf("chunked accuracy %v, one query at a time %v", got, want)
	}
	if got < 0.6 {
		t.Errorf("accuracy %v on separated classes", got)
	}
}

func BenchmarkSimilar(b *testing.B) {
	const n, d = 10000, 32
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i%97) - 48
	}
	r := NewRows(x, d)
	for b.Loop() {
		r.SimilarTo(5, 20, nil)
	}
}
