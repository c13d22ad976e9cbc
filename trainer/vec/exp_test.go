package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expShiftGo is ExpShift through the Go loop alone.
func expShiftGo(dst, src []float64, shift float64) float64 {
	var lanes [8]float64
	for i, s := range src {
		dst[i] = expOne(s - shift)
		lanes[i&7] += dst[i]
	}
	return sumLanes(&lanes)
}

func expCase(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float64, n)
	for i := range x {
		x[i] = (r.Float64()*2 - 1) * 20
	}
	odd := []float64{0, math.Copysign(0, -1), -707.9, -708.1, -745, -1e300, math.Inf(-1),
		708.9, 709.1, math.Inf(1), math.NaN(), 1e-300, -0.34657359, 0.34657359, 1, -1}
	copy(x, odd)
	if n > 2*len(odd) { // and at the end, in the last block of eight or sixteen
		copy(x[n-len(odd):], odd)
	}
	return x
}

// TestExpShiftSameBits: the assembly and the Go loop give the same bits,
// values and sum, for lengths with and without a tail and every case.
func TestExpShiftSameBits(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 16, 17, 24, 40, 48, 255, 256, 1001} {
		for _, shift := range []float64{0, 2.5, -3} {
			src := expCase(n, uint64(n))
			got, want := make([]float64, n), make([]float64, n)
			sg, sw := ExpShift(got, src, shift), expShiftGo(want, src, shift)
			if math.Float64bits(sg) != math.Float64bits(sw) && !(math.IsNaN(sg) && math.IsNaN(sw)) {
				t.Fatalf("n %d shift %v: sum %v, Go loop %v", n, shift, sg, sw)
			}
			for i := range n {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("n %d shift %v: e^(%v−shift) = %v, Go loop %v", n, shift, src[i], got[i], want[i])
				}
			}
		}
	}
}

// TestExpShiftValues: within 1e-15 of math.Exp in its domain, 0 below
// e^−708, +Inf above e^709, NaN for NaN; the sum is the values' sum; the
// slices may be one; different lengths panic.
func TestExpShiftValues(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	src := make([]float64, 4003)
	for i := range src {
		src[i] = -708 + r.Float64()*(708+709)
	}
	src[0], src[1], src[2], src[3], src[4] = 0, -708, 709, math.Ln2/2, -math.Ln2/2
	dst := make([]float64, len(src))
	sum := ExpShift(dst, src, 0)
	var want float64
	for i, x := range src {
		w := math.Exp(x)
		want += w
		if d := math.Abs(dst[i]-w) / w; d > 1e-15 {
			t.Fatalf("e^%v = %v, math.Exp %v (relative %.2g)", x, dst[i], w, d)
		}
	}
	if d := math.Abs(sum-want) / want; d > 1e-14 {
		t.Errorf("sum %v, want %v", sum, want)
	}
	for _, c := range []struct{ x, want float64 }{
		{-708.5, 0}, {-1e4, 0}, {math.Inf(-1), 0}, {709.5, math.Inf(1)}, {math.Inf(1), math.Inf(1)},
	} {
		in := []float64{c.x, c.x, c.x, c.x, c.x}
		ExpShift(in, in, 0)
		for _, v := range in {
			if v != c.want {
				t.Errorf("e^%v = %v, want %v", c.x, v, c.want)
			}
		}
	}
	nan := []float64{1, math.NaN(), 2, 3, math.NaN()}
	ExpShift(nan, nan, 0)
	if !math.IsNaN(nan[1]) || !math.IsNaN(nan[4]) || math.Abs(nan[0]-math.E) > 1e-15 {
		t.Errorf("NaN case: %v", nan)
	}
	defer func() {
		if recover() == nil {
			t.Error("slices of different lengths: no panic")
		}
	}()
	ExpShift(make([]float64, 3), make([]float64, 4), 0)
}

// BenchmarkExpShift is one softmax row of a 256 batch.
func BenchmarkExpShift(b *testing.B) {
	src := expCase(255, 1)[16:]
	dst := make([]float64, len(src))
	b.SetBytes(int64(len(src)) * 8)
	for b.Loop() {
		ExpShift(dst, src, 1)
	}
}

func BenchmarkMathExp(b *testing.B) {
	src := expCase(255, 1)[16:]
	dst := make([]float64, len(src))
	b.SetBytes(int64(len(src)) * 8)
	for b.Loop() {
		for i, x := range src {
			dst[i] = math.Exp(x - 1)
		}
	}
}

// BenchmarkExpShiftRow is a whole row of 256, the anchor's own entry at
// −Inf: how the softmax calls it.
func BenchmarkExpShiftRow(b *testing.B) {
	src := expCase(256+16, 1)[16:]
	src[100] = math.Inf(-1)
	dst := make([]float64, len(src))
	b.SetBytes(int64(len(src)) * 8)
	for b.Loop() {
		ExpShift(dst, src, 1)
	}
}
