package projection

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// anisotropic returns n points whose covariance has eigenvalues sd² along
// the orthonormal axes (rows of a random rotation), plus the axes.
func anisotropic(n int, sd []float64, seed uint64) ([]float32, [][]float64) {
	d := len(sd)
	r := rand.New(rand.NewPCG(seed, 3))
	// Random orthonormal axes by Gram-Schmidt.
	axes := make([][]float64, d)
	for a := range d {
		v := make([]float64, d)
		for t := range v {
			v[t] = r.NormFloat64()
		}
		for b := range a {
			dot := 0.0
			for t := range v {
				dot += v[t] * axes[b][t]
			}
			for t := range v {
				v[t] -= dot * axes[b][t]
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		for t := range v {
			v[t] /= math.Sqrt(norm)
		}
		axes[a] = v
	}
	x := make([]float32, n*d)
	for i := range n {
		for a := range d {
			c := r.NormFloat64() * sd[a]
			for t := range d {
				x[i*d+t] += float32(c * axes[a][t])
			}
		}
		for t := range d {
			x[i*d+t] += 5 // an offset PCA must remove
		}
	}
	return x, axes
}

func TestPCARecoversPrincipalAxes(t *testing.T) {
	sd := []float64{10, 5, 2, 1, 0.5, 0.5, 0.2, 0.1}
	x, axes := anisotropic(4000, sd, 1)
	for _, solver := range []PCASolver{PCAExact, PCARandomized} {
		for _, dims := range []int{2, 3} {
			res, err := PCA(x, 4000, len(sd), dims, PCAOptions{Solver: solver, Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			for c := range dims {
				// Up to sign, component c is axis c.
				dot := 0.0
				for t2, v := range axes[c] {
					dot += v * res.Components[c*len(sd)+t2]
				}
				if math.Abs(math.Abs(dot)-1) > 1e-3 {
					t.Errorf("%s %dD: |component %d · axis| = %.5f, want 1", solver, dims, c, math.Abs(dot))
				}
				want := sd[c] * sd[c]
				if got := res.ExplainedVariance[c]; math.Abs(got-want) > 0.08*want {
					t.Errorf("%s: variance %d = %.3f, want ≈ %.3f", solver, c, got, want)
				}
			}
			total := 0.0
			for _, s := range sd {
				total += s * s
			}
			if r := res.ExplainedVarianceRatio[0]; math.Abs(r-100/total) > 0.02 {
				t.Errorf("%s: first ratio %.4f, want ≈ %.4f", solver, r, 100/total)
			}
			// Coordinates are the centred data times the components.
			var mean float64
			for i := range 4000 {
				mean += float64(res.Coords[i*dims])
			}
			if math.Abs(mean/4000) > 1e-3 {
				t.Errorf("%s: coordinates not centred (mean %.4g)", solver, mean/4000)
			}
		}
	}
}

func TestPCAEdgeCases(t *testing.T) {
	t.Run("identical points project to the origin", func(t *testing.T) {
		x := make([]float32, 10*4)
		for i := range x {
			x[i] = 3
		}
		res, err := PCA(x, 10, 4, 2, PCAOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range res.Coords {
			if v != 0 {
				t.Fatalf("coordinate %v, want 0", v)
			}
		}
		for _, r := range res.ExplainedVarianceRatio {
			if r != 0 || math.IsNaN(r) {
				t.Fatalf("ratio %v, want 0", r)
			}
		}
	})
	t.Run("one point", func(t *testing.T) {
		res, err := PCA([]float32{1, 2, 3}, 1, 3, 2, PCAOptions{})
		if err != nil || res.Coords[0] != 0 || res.Coords[1] != 0 {
			t.Fatalf("got %v, %v", res, err)
		}
	})
	t.Run("fewer input dimensions than output", func(t *testing.T) {
		res, err := PCA([]float32{1, 2, 4, 8}, 4, 1, 3, PCAOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Coords[1] != 0 || res.Coords[2] != 0 {
			t.Fatalf("missing components should be zero: %v", res.Coords)
		}
	})
	for _, tc := range []struct {
		name string
		x    []float32
		n, d int
		want error
	}{
		{"NaN", []float32{1, float32(math.NaN()), 2, 3}, 2, 2, ErrNotFinite},
		{"Inf", []float32{1, float32(math.Inf(1)), 2, 3}, 2, 2, ErrNotFinite},
		{"short slice", []float32{1, 2, 3}, 2, 2, ErrShape},
		{"no points", nil, 0, 2, ErrShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := PCA(tc.x, tc.n, tc.d, 2, PCAOptions{}); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestProcrustesUndoesRotationAndReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, dims := range []int{2, 3} {
		n := 50
		prev := make([]float32, n*dims)
		for i := range prev {
			prev[i] = float32(r.NormFloat64())
		}
		// Rotate by 0.7 rad in the first plane, then reflect the last axis.
		cur := make([]float32, n*dims)
		c, s := math.Cos(0.7), math.Sin(0.7)
		for i := range n {
			p := prev[i*dims : (i+1)*dims]
			q := cur[i*dims : (i+1)*dims]
			copy(q, p)
			q[0] = float32(c*float64(p[0]) - s*float64(p[1]))
			q[1] = float32(s*float64(p[0]) + c*float64(p[1]))
			q[dims-1] = -q[dims-1]
		}
		if err := Procrustes(prev, cur, n, dims); err != nil {
			t.Fatal(err)
		}
		for i := range prev {
			if math.Abs(float64(prev[i]-cur[i])) > 1e-5 {
				t.Fatalf("%dD: value %d is %v after alignment, want %v", dims, i, cur[i], prev[i])
			}
		}
	}
	if err := Procrustes(make([]float32, 4), make([]float32, 6), 2, 2); !errors.Is(err, ErrShape) {
		t.Errorf("mismatched frames: error %v, want ErrShape", err)
	}
}

func BenchmarkPCA10kx32(b *testing.B) {
	x, _ := blobs(10000, 32, 10, 3, 1)
	b.ReportAllocs()
	runs := 0
	var cpu float64
	for b.Loop() {
		c0 := processCPUSeconds()
		if _, err := PCA(x, 10000, 32, 2, PCAOptions{}); err != nil {
			b.Fatal(err)
		}
		cpu += processCPUSeconds() - c0
		runs++
	}
	b.ReportMetric(cpu/float64(runs)*1e3, "cpu-ms/op")
}
