package projection

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

// TestFitAB: a and b match umap-learn 0.5.3's find_ab_params (scipy's
// curve_fit) for four (spread, min_dist) pairs; the values below are what
// `from umap.umap_ import find_ab_params` printed on this machine.
func TestFitAB(t *testing.T) {
	for _, c := range []struct{ spread, minDist, a, b float64 }{
		{1, 0.1, 1.5769434601962196, 0.8950608779914887},
		{1, 0.001, 1.9290733952004866, 0.7915045329560677},
		{2, 0.5, 0.25887874119038884, 1.057499699581397},
		{1, 0.5, 0.583030020479462, 1.3341669929263487},
	} {
		a, b, err := FitAB(c.spread, c.minDist)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(a-c.a) > 1e-4*c.a || math.Abs(b-c.b) > 1e-4*c.b {
			t.Errorf("spread %v min_dist %v: a %v b %v, umap-learn %v %v", c.spread, c.minDist, a, b, c.a, c.b)
		}
	}
	for _, bad := range [][2]float64{{0, 0.1}, {1, 0}, {1, 2}, {math.Inf(1), 0.1}, {math.NaN(), 0.1}} {
		if _, _, err := FitAB(bad[0], bad[1]); !errors.Is(err, ErrOption) {
			t.Errorf("spread %v min_dist %v: %v", bad[0], bad[1], err)
		}
	}
}

// layoutKNN is the share of points whose k nearest layout neighbours'
// majority label is their own.
func layoutKNN(y []float32, n, dims, k int, labels []int) float64 {
	right := 0
	for i := range n {
		type nd struct {
			d float64
			j int
		}
		ds := make([]nd, 0, n-1)
		for j := range n {
			if j == i {
				continue
			}
			var s float64
			for c := range dims {
				v := float64(y[i*dims+c] - y[j*dims+c])
				s += v * v
			}
			ds = append(ds, nd{s, j})
		}
		slices.SortFunc(ds, func(a, b nd) int { return cmpDesc(b.d, a.d) })
		votes := map[int]int{}
		for _, x := range ds[:k] {
			votes[labels[x.j]]++
		}
		if votes[labels[i]]*2 > k {
			right++
		}
	}
	return float64(right) / float64(n)
}

// TestUMAPSeparatesClusters: gaussian clusters stay apart in the layout
// (layout kNN accuracy near 1), in 2D and 3D: clusters so far apart that
// the neighbour graph falls into pieces (started from PCA), and clusters
// close enough for one graph (started spectrally).
func TestUMAPSeparatesClusters(t *testing.T) {
	const n, d, classes = 600, 20, 6
	for _, c := range []struct {
		sep  float64
		init string
	}{{6, "pca"}, {1.2, "spectral"}} {
		x, labels := blobs(n, d, classes, c.sep, 3)
		for _, dims := range []int{2, 3} {
			r, err := UMAP(context.Background(), x, n, d, UMAPOptions{Dims: dims, Epochs: 200, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if r.Init != c.init || len(r.Coords) != n*dims {
				t.Fatalf("separation %v, %dD: init %s, %d values", c.sep, dims, r.Init, len(r.Coords))
			}
			acc := layoutKNN(r.Coords, n, dims, 5, labels)
			tw, err := Trustworthiness(x, n, d, r.Coords, dims, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("separation %v, %dD, %s start: layout 5-NN accuracy %.4f, trustworthiness %.4f", c.sep, dims, r.Init, acc, tw)
			if acc < 0.98 || tw < 0.9 {
				t.Errorf("separation %v, %dD: layout kNN accuracy %.4f, trustworthiness %.4f", c.sep, dims, acc, tw)
			}
		}
	}
}

// TestUMAPDeterministic: the same seed gives the same layout on one thread
// and on four; another seed another layout.
func TestUMAPDeterministic(t *testing.T) {
	const n, d = 300, 10
	x, _ := blobs(n, d, 3, 4, 5)
	run := func(seed uint64, threads int) []float32 {
		r, err := UMAP(context.Background(), x, n, d, UMAPOptions{Epochs: 100, Seed: seed, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		return r.Coords
	}
	one, four := run(7, 1), run(7, 4)
	if !slices.Equal(one, four) {
		t.Error("seed 7 on 1 and on 4 threads: different layouts")
	}
	if slices.Equal(one, run(8, 1)) {
		t.Error("seeds 7 and 8: the same layout")
	}
}

// TestUMAPWarmStart: a layout started from the previous epoch's moves its
// points less than a cold one, as Live's frames need.
func TestUMAPWarmStart(t *testing.T) {
	const n, d = 400, 16
	x0, _ := blobs(n, d, 5, 4, 8)
	x1 := jitter(x0, 0.05, 9)
	ctx := context.Background()
	first, err := UMAP(ctx, x0, n, d, UMAPOptions{Epochs: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	warm, err := UMAP(ctx, x1, n, d, UMAPOptions{Epochs: 30, Seed: 2, InitCoords: first.Coords, LearningRate: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	cold, err := UMAP(ctx, x1, n, d, UMAPOptions{Epochs: 200, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if warm.Init != "given" {
		t.Errorf("warm start init %q", warm.Init)
	}
	centre := func(y []float32) []float32 {
		out := slices.Clone(y)
		var mx, my float32
		for i := range n {
			mx += y[2*i]
			my += y[2*i+1]
		}
		for i := range n {
			out[2*i] -= mx / n
			out[2*i+1] -= my / n
		}
		return out
	}
	ref := centre(first.Coords)
	w, c := centre(warm.Coords), centre(cold.Coords)
	if err := Procrustes(ref, c, n, 2); err != nil {
		t.Fatal(err)
	}
	wm, cm := displacement(ref, w), displacement(ref, c)
	t.Logf("relative displacement from the previous layout: warm %.4f, cold (turned onto it) %.4f", wm, cm)
	if wm >= cm/2 {
		t.Errorf("warm layout moved %.4f, cold %.4f", wm, cm)
	}
}

// TestUMAPEdgeCases: tiny, duplicate, disconnected and bad inputs get a
// clear error or a tested behaviour.
func TestUMAPEdgeCases(t *testing.T) {
	ctx := context.Background()
	if _, err := UMAP(ctx, make([]float32, 3*2), 3, 2, UMAPOptions{}); !errors.Is(err, ErrTooFewPoints) {
		t.Errorf("3 points in 2D: %v", err)
	}
	nan := []float32{0, 1, 2, float32(math.NaN()), 4, 5, 6, 7, 8, 9}
	if _, err := UMAP(ctx, nan, 5, 2, UMAPOptions{}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("a NaN: %v", err)
	}
	if _, err := UMAP(ctx, make([]float32, 20), 10, 2, UMAPOptions{Neighbors: 1}); !errors.Is(err, ErrOption) {
		t.Errorf("1 neighbour: %v", err)
	}
	// Five points with the default 15 neighbours: all of them.
	small, err := UMAP(ctx, []float32{0, 0, 1, 0, 0, 1, 1, 1, 5, 5}, 5, 2, UMAPOptions{Epochs: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range small.Coords {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("five points: %v", small.Coords)
		}
	}
	// Every point the same: a finite layout, no panic.
	same, err := UMAP(ctx, slices.Repeat([]float32{1, 2, 3}, 40), 40, 3, UMAPOptions{Epochs: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range same.Coords {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("duplicates: %v", same.Coords[:6])
		}
	}
	// Two far-apart groups with few neighbours: the graph is
	// disconnected, and the start is PCA's.
	x, _ := blobs(60, 4, 2, 1000, 2)
	apart, err := UMAP(ctx, x, 60, 4, UMAPOptions{Neighbors: 5, Epochs: 50})
	if err != nil {
		t.Fatal(err)
	}
	if apart.Init != "pca" {
		t.Errorf("a disconnected graph started from %q", apart.Init)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := UMAP(cctx, x, 60, 4, UMAPOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// BenchmarkUMAP lays out 1,800 points of 32 dimensions in 10 clusters, the
// size of the digits, with umap-learn's defaults (500 epochs).
func BenchmarkUMAP(b *testing.B) {
	const n, d = 1800, 32
	x, _ := blobs(n, d, 10, 1.5, 1)
	for b.Loop() {
		if _, err := UMAP(context.Background(), x, n, d, UMAPOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPowB: the optimisation's fast powers, one at a time (powB) and in
// batches (powBatch, AVX2 where the CPU has it, and the portable loop), are
// within a relative 1e-11 of math.Pow over the distances and exponents UMAP
// meets, and agree with it on zero, subnormal, huge and NaN distances.
func TestPowB(t *testing.T) {
	var xs []float64
	for x := 1e-9; x < 1e6; x *= 1.0173 {
		xs = append(xs, x)
	}
	odd := []float64{0, 1e-320, 1e-200, 1e200, math.Inf(1), math.NaN(), 0.5, 1}
	p := make([]float64, len(xs))
	for _, portable := range []bool{false, true} {
		forceGoKernel = portable
		for _, b := range []float64{0.5, 0.7915, 0.8951, 1.0575, 1.3342, -0.1049, 1.5, 2, 2.5} {
			worst, batchWorst := 0.0, 0.0
			// Batches of every length up to 17, as the SGD's rounds are.
			for i, size := 0, 1; i < len(xs); i, size = i+size, size%17+1 {
				c := xs[i:min(i+size, len(xs))]
				powBatch(p[i:i+len(c)], c, b)
			}
			for i, x := range xs {
				want := math.Pow(x, b)
				worst = max(worst, math.Abs(powB(x, b)-want)/want)
				batchWorst = max(batchWorst, math.Abs(p[i]-want)/want)
			}
			if worst > 1e-11 || batchWorst > 1e-11 {
				t.Errorf("b %v: largest relative error %g one at a time, %g in batches (portable %v)", b, worst, batchWorst, portable)
			}
			got := make([]float64, len(odd))
			powBatch(got, odd, b)
			for i, x := range odd {
				want := math.Pow(x, b)
				if !(got[i] == want || math.IsNaN(want) && math.IsNaN(got[i]) || math.Abs(got[i]-want) <= 1e-11*want) {
					t.Errorf("b %v: %v^b is %v in a batch, want %v", b, x, got[i], want)
				}
			}
		}
	}
	forceGoKernel = false
	if powB(1e-320, 0.9) != math.Pow(1e-320, 0.9) {
		t.Error("a subnormal distance")
	}
}

var powSink float64

// BenchmarkPowB and BenchmarkMathPow time the optimisation's power and
// math.Pow, one dependent call after another as in the SGD.
func BenchmarkPowB(b *testing.B) {
	x := 0.37
	for b.Loop() {
		powSink += powB(x, 0.8951)
		x += 1e-6
	}
}

// BenchmarkPowBatch is powBatch over an edge's samples (a pull and five
// pushes) for four lanes, as a round of the SGD takes them.
func BenchmarkPowBatch(b *testing.B) {
	x, p := make([]float64, 24), make([]float64, 24)
	for i := range x {
		x[i] = 0.37 + float64(i)
	}
	for b.Loop() {
		powBatch(p, x, 0.8951)
	}
	powSink += p[0]
}

func BenchmarkMathPow(b *testing.B) {
	x := 0.37
	for b.Loop() {
		powSink += math.Pow(x, 0.8951)
		x += 1e-6
	}
}
