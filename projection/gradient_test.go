package projection

import (
	"math"
	"math/rand/v2"
	"testing"
)

// exactOptimizer returns an optimiser with dense affinities at a random
// layout of scale 3.
func exactOptimizer(t *testing.T, pl *pool, n, dims int, seed uint64) *optimizer {
	t.Helper()
	x, _ := blobs(n, 8, 3, 4, seed)
	aff := computeAffinities(pl, x, n, 8, 5, true, nil)
	r := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n*dims)
	for i := range y {
		y[i] = 3 * r.NormFloat64()
	}
	o := newOptimizer(pl, aff, y, dims, 0)
	o.exag = 1
	return o
}

func TestExactGradientMatchesFiniteDifferences(t *testing.T) {
	pl := newPool(2)
	defer pl.close()
	for _, dims := range []int{2, 3} {
		t.Run(map[int]string{2: "2D", 3: "3D"}[dims], func(t *testing.T) {
			o := exactOptimizer(t, pl, 40, dims, 5)
			g := o.gradient()
			const h = 1e-5
			worst := 0.0
			for e := range o.y {
				orig := o.y[e]
				o.y[e] = orig + h
				cp := o.kl()
				o.y[e] = orig - h
				cm := o.kl()
				o.y[e] = orig
				num := (cp - cm) / (2 * h)
				worst = max(worst, math.Abs(num-g[e])/(math.Abs(g[e])+1e-6))
			}
			if worst > 1e-5 {
				t.Errorf("worst relative gradient error %.3g, want ≤ 1e-5", worst)
			}
		})
	}
}

// sparseFromDense turns dense affinities into the CSR form the Barnes-Hut
// path uses, keeping every pair.
func sparseFromDense(a *affinities) *affinities {
	n := a.n
	s := &csr{n: n, row: make([]int32, n+1)}
	for i := range n {
		for j := range n {
			if j != i {
				s.col = append(s.col, int32(j))
				s.val = append(s.val, a.dense[i*n+j])
			}
		}
		s.row[i+1] = int32(len(s.col))
	}
	return &affinities{n: n, sparse: s, beta: a.beta}
}

func TestBarnesHutThetaZeroMatchesExact(t *testing.T) {
	pl := newPool(2)
	defer pl.close()
	for _, dims := range []int{2, 3} {
		for _, tc := range []struct {
			theta, tol float64
		}{{0, 1e-10}, {0.5, 0.03}} {
			ex := exactOptimizer(t, pl, 200, dims, 9)
			want := ex.gradient()
			bh := newOptimizer(pl, sparseFromDense(ex.aff), append([]float64(nil), ex.y...), dims, tc.theta)
			bh.exag = 1
			got := bh.gradient()
			var num, den float64
			for e := range want {
				num += (got[e] - want[e]) * (got[e] - want[e])
				den += want[e] * want[e]
			}
			if rel := math.Sqrt(num / den); rel > tc.tol {
				t.Errorf("%dD theta %.1f: relative gradient error %.3g, want ≤ %g", dims, tc.theta, rel, tc.tol)
			}
			if rz := math.Abs(bh.z-ex.z) / ex.z; rz > tc.tol {
				t.Errorf("%dD theta %.1f: normalisation off by %.3g", dims, tc.theta, rz)
			}
		}
	}
}

func TestTSNEIterationAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting is slow under -short")
	}
	pl := newPool(2)
	defer pl.close()
	x, _ := blobs(1000, 10, 4, 5, 2)
	aff := computeAffinities(pl, x, 1000, 10, 30, false, nil)
	y, _ := initialLayout(pl, x, 1000, 10, &TSNEOptions{Dims: 2, Init: InitRandom})
	o := newOptimizer(pl, aff, y, 2, 0.5)
	o.exag, o.mom, o.lr = 12, 0.5, 200
	for range 5 {
		o.step()
	}
	if a := testing.AllocsPerRun(20, o.step); a > 0 {
		t.Errorf("%.1f allocations per iteration, want 0", a)
	}
}

func TestCalibrationHitsPerplexity(t *testing.T) {
	pl := newPool(2)
	defer pl.close()
	x, _ := blobs(300, 6, 3, 3, 4)
	g := exactKNN(pl, x, 300, 6, 90, nil)
	for _, perp := range []float64{5, 30} {
		beta := make([]float64, 300)
		pc := make([]float64, 300*90)
		calibrate(pl, g.dist, 300, 90, perp, beta, pc)
		for i := range 300 {
			h := 0.0
			for _, p := range pc[i*90 : (i+1)*90] {
				if p > 0 {
					h -= p * math.Log(p)
				}
			}
			if math.Abs(math.Exp(h)-perp) > 1e-3*perp {
				t.Fatalf("row %d: perplexity %.5f, want %g", i, math.Exp(h), perp)
			}
		}
	}
}
