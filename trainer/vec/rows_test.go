package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rowCase is n float64 values with the awkward ones first: ±0, ±Inf, NaN,
// the extremes of float64 and values that round when made float32.
func rowCase(n int, seed uint64) []float64 {
	special := []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64,
		-math.MaxFloat64, 5e-324, 1 + 1.0/(1<<24), 1 + 3.0/(1<<24), 3.5e38, 1e-46}
	r := rand.New(rand.NewPCG(seed, 7))
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * 10
		if i < len(special) && seed%2 == 0 {
			x[i] = special[i]
		}
	}
	return x
}

var rowLengths = []int{0, 1, 7, 8, 9, 16, 31, 255, 256, 1001}

func sameBits64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// TestScaleSameBits: Scale is the product, element by element, in place
// or not, for lengths with and without a tail.
func TestScaleSameBits(t *testing.T) {
	for _, n := range rowLengths {
		for seed := range uint64(4) {
			x := rowCase(n, seed)
			for _, c := range []float64{10, -0.5, 1.0 / 3, math.Inf(1), 0} {
				got := make([]float64, n)
				Scale(got, x, c)
				in := append([]float64(nil), x...)
				Scale(in, in, c)
				for i, v := range x {
					if w := v * c; !sameBits64(got[i], w) || !sameBits64(in[i], w) {
						t.Fatalf("Scale n %d value %d (%v·%v): %v and in place %v, want %v", n, i, v, c, got[i], in[i], w)
					}
				}
			}
		}
	}
}

// TestMax: the largest value that is not NaN, −Inf when there is none.
func TestMax(t *testing.T) {
	for _, n := range rowLengths {
		for seed := range uint64(4) {
			x := rowCase(n, seed)
			want := math.Inf(-1)
			for _, v := range x {
				if v > want {
					want = v
				}
			}
			if got := Max(x); got != want {
				t.Fatalf("Max n %d seed %d: %v, want %v", n, seed, got, want)
			}
		}
	}
	nan := []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	if got := Max(nan); !math.IsInf(got, -1) {
		t.Fatalf("Max of NaNs: %v, want −Inf", got)
	}
	nan[3] = -2
	if got := Max(nan); got != -2 {
		t.Fatalf("Max of NaNs and −2: %v, want −2", got)
	}
}

// TestWidenNarrowSameBits: the conversions are Go's, value for value,
// including the rounding to nearest even, overflow to ±Inf, subnormals and
// NaN.
func TestWidenNarrowSameBits(t *testing.T) {
	for _, n := range rowLengths {
		for seed := range uint64(4) {
			x := rowCase(n, seed)
			f := make([]float32, n)
			Narrow(f, x)
			for i, v := range x {
				w := float32(v)
				if math.Float32bits(f[i]) != math.Float32bits(w) && !(math.IsNaN(float64(w)) && math.IsNaN(float64(f[i]))) {
					t.Fatalf("Narrow n %d value %d (%v): %v, want %v", n, i, v, f[i], w)
				}
			}
			d := make([]float64, n)
			Widen(d, f)
			for i, v := range f {
				if !sameBits64(d[i], float64(v)) {
					t.Fatalf("Widen n %d value %d (%v): %v", n, i, v, d[i])
				}
			}
		}
	}
}

// TestAddSameBits: Add is the float32 sum, element by element.
func TestAddSameBits(t *testing.T) {
	for _, n := range rowLengths {
		x, y := rowCase(n, uint64(n)), rowCase(n, uint64(n)+1)
		a, b := make([]float32, n), make([]float32, n)
		Narrow(a, x)
		Narrow(b, y)
		got := append([]float32(nil), a...)
		Add(got, b)
		for i := range a {
			w := a[i] + b[i]
			if math.Float32bits(got[i]) != math.Float32bits(w) && !(math.IsNaN(float64(w)) && math.IsNaN(float64(got[i]))) {
				t.Fatalf("Add n %d value %d (%v+%v): %v, want %v", n, i, a[i], b[i], got[i], w)
			}
		}
	}
}

func TestRowLengths(t *testing.T) {
	for name, f := range map[string]func(){
		"Scale":  func() { Scale(make([]float64, 3), make([]float64, 4), 1) },
		"Widen":  func() { Widen(make([]float64, 3), make([]float32, 4)) },
		"Narrow": func() { Narrow(make([]float32, 3), make([]float64, 4)) },
		"Add":    func() { Add(make([]float32, 3), make([]float32, 4)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with different lengths did not panic", name)
				}
			}()
			f()
		}()
	}
}
