package projection

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// blobs returns n points in d dimensions around c well-separated centres
// (centres at distance ~sep·√2 apart, unit noise) and their labels.
func blobs(n, d, c int, sep float64, seed uint64) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 11))
	centres := make([]float64, c*d)
	for i := range centres {
		centres[i] = r.NormFloat64() * sep
	}
	x := make([]float32, n*d)
	labels := make([]int, n)
	for i := range n {
		l := i % c
		labels[i] = l
		for t := range d {
			x[i*d+t] = float32(centres[l*d+t] + r.NormFloat64())
		}
	}
	return x, labels
}

// knnAccuracy is the leave-one-out k-NN accuracy of labels in layout y.
func knnAccuracy(y []float32, n, dims int, labels []int, k int) float64 {
	correct := 0
	for i := range n {
		ids := make([]int32, 0, n-1)
		ds := make([]float64, 0, n-1)
		for j := range n {
			if j != i {
				ids = append(ids, int32(j))
				ds = append(ds, sqDist64(y[i*dims:(i+1)*dims], y[j*dims:(j+1)*dims]))
			}
		}
		sortPairs(ds, ids)
		votes := map[int]int{}
		for _, j := range ids[:k] {
			votes[labels[j]]++
		}
		best, bestN := -1, -1
		for _, j := range ids[:k] { // ties go to the nearest
			if votes[labels[j]] > bestN {
				best, bestN = labels[j], votes[labels[j]]
			}
		}
		if best == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(n)
}

func TestTSNESeparatesClusters(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dims  int
		theta float64
		n     int
	}{
		{"barnes-hut 2D", 2, 0.5, 600},
		{"barnes-hut 3D", 3, 0.5, 600},
		{"exact 2D", 2, 0, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, labels := blobs(tc.n, 20, 5, 6, 1)
			opts := DefaultTSNEOptions()
			opts.Dims, opts.Theta, opts.Iterations = tc.dims, tc.theta, 500
			res, err := TSNE(context.Background(), x, tc.n, 20, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range res.Coords {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite coordinate")
				}
			}
			acc := knnAccuracy(res.Coords, tc.n, tc.dims, labels, 5)
			if acc < 0.99 {
				t.Errorf("5-NN accuracy %.3f, want ≥ 0.99", acc)
			}
			if !(res.KL > 0 && res.KL < 2) {
				t.Errorf("KL %.3f out of the plausible range", res.KL)
			}
			t.Logf("KL %.4f, accuracy %.3f, %.2fs", res.KL, acc, res.Seconds)
		})
	}
}

func TestTSNEBadInput(t *testing.T) {
	ctx := context.Background()
	x, _ := blobs(50, 4, 2, 3, 1)
	nan := append([]float32(nil), x...)
	nan[17] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		x    []float32
		n, d int
		opts TSNEOptions
		want error
	}{
		{"three points", x[:12], 3, 4, DefaultTSNEOptions(), ErrTooFewPoints},
		{"perplexity too large", x, 50, 4, DefaultTSNEOptions(), ErrPerplexity},
		{"NaN", nan, 50, 4, TSNEOptions{Perplexity: 5, Theta: 0.5}, ErrNotFinite},
		{"ragged", x[:199], 50, 4, TSNEOptions{Perplexity: 5, Theta: 0.5}, ErrShape},
		{"dims 4", x, 50, 4, TSNEOptions{Perplexity: 5, Dims: 4}, ErrOption},
		{"negative theta", x, 50, 4, TSNEOptions{Perplexity: 5, Theta: -1}, ErrOption},
		{"exact too large", make([]float32, (MaxExactPoints+1)*2), MaxExactPoints + 1, 2, TSNEOptions{}, ErrOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := TSNE(ctx, tc.x, tc.n, tc.d, tc.opts); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTSNEDegenerateInputs(t *testing.T) {
	ctx := context.Background()
	t.Run("identical points", func(t *testing.T) {
		x := make([]float32, 40*3)
		for i := range x {
			x[i] = 2
		}
		for _, theta := range []float64{0, 0.5} {
			res, err := TSNE(ctx, x, 40, 3, TSNEOptions{Perplexity: 5, Theta: theta, Iterations: 200})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range res.Coords {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("theta %v: non-finite layout", theta)
				}
			}
		}
	})
	t.Run("coincident start", func(t *testing.T) {
		// 60 points starting on one spot (more than a tree leaf holds): the
		// tree must cope, and the layout stay finite.
		x, _ := blobs(60, 4, 2, 3, 1)
		for _, dims := range []int{2, 3} {
			res, err := TSNE(ctx, x, 60, 4, TSNEOptions{Dims: dims, Perplexity: 5, Theta: 0.5, Iterations: 100,
				InitCoords: make([]float32, 60*dims)})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range res.Coords {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%dD: non-finite layout", dims)
				}
			}
		}
	})
	t.Run("four points, largest perplexity", func(t *testing.T) {
		x := []float32{0, 0, 1, 0, 0, 1, 5, 5}
		res, err := TSNE(ctx, x, 4, 2, TSNEOptions{Perplexity: 1, Theta: 0.5, Iterations: 200})
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(res.KL) {
			t.Fatal("NaN KL")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		x, _ := blobs(100, 4, 2, 3, 1)
		if _, err := TSNE(c, x, 100, 4, DefaultTSNEOptions()); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("same seed, same layout, whatever the threads", func(t *testing.T) {
		x, _ := blobs(300, 6, 3, 3, 5)
		a := DefaultTSNEOptions()
		a.Iterations, a.Threads = 100, 1
		b := a
		b.Threads = 2
		ra, _ := TSNE(ctx, x, 300, 6, a)
		rb, _ := TSNE(ctx, x, 300, 6, b)
		for i := range ra.Coords {
			if ra.Coords[i] != rb.Coords[i] {
				t.Fatalf("coordinate %d differs: %v vs %v", i, ra.Coords[i], rb.Coords[i])
			}
		}
	})
}

// BenchmarkTSNEDigits runs the full t-SNE (perplexity 30, 1000 iterations,
// theta 0.5) on the 1,797×64 digits when PROJECTION_DIGITS_TSV names
// bench/tsne/prep's digits.tsv, else on synthetic data of the same shape.
func BenchmarkTSNEDigits(b *testing.B) {
	const n, d = 1797, 64
	x, _ := blobs(n, d, 10, 1.2, 1)
	if path := os.Getenv("PROJECTION_DIGITS_TSV"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var m, dd int
		x, m, dd, err = ReadVectors(f)
		f.Close()
		if err != nil || m != n || dd != d {
			b.Fatalf("%s: %d×%d, %v", path, m, dd, err)
		}
	} else {
		b.Log("PROJECTION_DIGITS_TSV not set: synthetic 1797×64 clusters")
	}
	ctx := context.Background()
	runs := 0
	var cpu float64
	for b.Loop() {
		c0 := processCPUSeconds()
		res, err := TSNE(ctx, x, n, d, DefaultTSNEOptions())
		if err != nil {
			b.Fatal(err)
		}
		cpu += processCPUSeconds() - c0
		runs++
		b.ReportMetric(res.KL, "KL")
	}
	b.ReportMetric(cpu/float64(runs), "cpu-s/op")
}
