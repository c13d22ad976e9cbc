package projection

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func randMatrix(n, d int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// bruteKNN is the oracle: full float64 distance rows, sorted.
func bruteKNN(x []float32, n, d, k int) [][]int32 {
	res := make([][]int32, n)
	for i := range n {
		ids := make([]int32, 0, n-1)
		ds := make([]float64, 0, n-1)
		for j := range n {
			if j != i {
				ids = append(ids, int32(j))
				ds = append(ds, sqDist64(x[i*d:(i+1)*d], x[j*d:(j+1)*d]))
			}
		}
		sortPairs(ds, ids)
		res[i] = ids[:k]
	}
	return res
}

func TestExactKNN(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, d, k int
		goOnly  bool
	}{
		{"odd sizes", 37, 5, 7, false},
		{"one panel", 16, 3, 15, false},
		{"several blocks", 700, 33, 20, false},
		{"portable kernel", 300, 17, 12, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forceGoKernel = tc.goOnly
			defer func() { forceGoKernel = false }()
			x := randMatrix(tc.n, tc.d, 3)
			p := newPool(2)
			defer p.close()
			g := exactKNN(p, x, tc.n, tc.d, tc.k, nil)
			if tc.name == "several blocks" {
				// Warm-started from the graph of slightly different points,
				// the search must still be exact.
				old := exactKNN(p, jitter(x, 0.1, 1), tc.n, tc.d, tc.k, nil)
				g = exactKNN(p, x, tc.n, tc.d, tc.k, old)
			}
			want := bruteKNN(x, tc.n, tc.d, tc.k)
			miss := 0
			for i := range tc.n {
				got := g.idx[i*tc.k : (i+1)*tc.k]
				for _, j := range want[i] {
					if !slices.Contains(got, j) {
						miss++
					}
				}
				for m, j := range got {
					want := sqDist64(x[i*tc.d:(i+1)*tc.d], x[int(j)*tc.d:(int(j)+1)*tc.d])
					if diff := g.dist[i*tc.k+m] - want; diff*diff > 1e-8*want*want+1e-10 {
						t.Fatalf("row %d: distance %v, want %v", i, g.dist[i*tc.k+m], want)
					}
				}
			}
			// float32 ranking may swap near-ties at the k-th place only.
			if miss > tc.n/50 {
				t.Errorf("%d neighbours missed out of %d", miss, tc.n*tc.k)
			}
		})
	}
}

func BenchmarkKNN10kx32(b *testing.B) {
	x := randMatrix(10000, 32, 1)
	p := newPool(0)
	defer p.close()
	for b.Loop() {
		exactKNN(p, x, 10000, 32, 90, nil)
	}
}

// sortPairs sorts d ascending, permuting idx alongside; ties go by index, so
// the order is deterministic.
func sortPairs(d []float64, idx []int32) {
	type pair struct {
		d float64
		i int32
	}
	ps := make([]pair, len(d))
	for m := range d {
		ps[m] = pair{d[m], idx[m]}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a.d != b.d {
			if a.d < b.d {
				return -1
			}
			return 1
		}
		return int(a.i - b.i)
	})
	for m, p := range ps {
		d[m], idx[m] = p.d, p.i
	}
}
