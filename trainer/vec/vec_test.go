package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func adamCase(n int, seed uint64) (p, g, m, v []float32) {
	r := rand.New(rand.NewPCG(seed, 1))
	p, g, m, v = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		p[i] = float32(r.NormFloat64())
		g[i] = float32(r.NormFloat64() * math.Pow(10, -3*r.Float64()))
		m[i] = float32(r.NormFloat64() * 0.01)
		v[i] = float32(r.Float64() * 1e-4)
	}
	return
}

var params = []AdamParams{
	{B1: 0.9, C1: 1 - 0.9, B2: 0.999, C2: 1 - 0.999, L2: 0, Shrink: 1, StepSize: 1e-3 / (1 - 0.9), InvSqrtBC2: float32(1 / math.Sqrt(1-0.999)), Eps: 1e-8},
	{B1: 0.9, C1: 1 - 0.9, B2: 0.999, C2: 1 - 0.999, L2: 0.01, Shrink: 1, StepSize: 3e-3, InvSqrtBC2: 1.2, Eps: 1e-8},
	{B1: 0.9, C1: 1 - 0.9, B2: 0.999, C2: 1 - 0.999, L2: 0, Shrink: 0.99999, StepSize: 1e-3, InvSqrtBC2: 1, Eps: 1e-8},
}

// TestAdamSameBits: the assembly and the Go loop give the same bits, for
// lengths with and without a tail and every kind of step.
func TestAdamSameBits(t *testing.T) {
	for k, a := range params {
		for _, n := range []int{0, 1, 7, 8, 9, 64, 1000, 4099} {
			p1, g, m1, v1 := adamCase(n, uint64(n+k))
			p2, m2, v2 := append([]float32(nil), p1...), append([]float32(nil), m1...), append([]float32(nil), v1...)
			Adam(p1, g, m1, v1, a)
			adamGo(p2, g, m2, v2, a)
			for i := range n {
				if math.Float32bits(p1[i]) != math.Float32bits(p2[i]) || m1[i] != m2[i] || v1[i] != v2[i] {
					t.Fatalf("params %d, n %d, value %d: assembly p %v m %v v %v, Go p %v m %v v %v", k, n, i, p1[i], m1[i], v1[i], p2[i], m2[i], v2[i])
				}
			}
		}
	}
}

// TestAdamFormula: one step matches Adam computed in float64 to float32
// precision.
func TestAdamFormula(t *testing.T) {
	for k, a := range params {
		p, g, m, v := adamCase(1000, 9)
		p0, m0, v0 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
		Adam(p, g, m, v, a)
		for i := range p {
			gi := float64(g[i]) + float64(a.L2)*float64(p0[i])
			mi := float64(a.B1)*float64(m0[i]) + float64(a.C1)*gi
			vi := float64(a.B2)*float64(v0[i]) + float64(a.C2)*gi*gi
			want := float64(p0[i])*float64(a.Shrink) - float64(a.StepSize)*mi/(math.Sqrt(vi)*float64(a.InvSqrtBC2)+float64(a.Eps))
			if d := math.Abs(float64(p[i]) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("params %d value %d: %v, want %v", k, i, p[i], want)
			}
		}
	}
}

func TestAdamLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("slices of different lengths: no panic")
		}
	}()
	Adam(make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), params[0])
}

// BenchmarkAdam is one step over the reference MLP's 235,680 parameters.
func BenchmarkAdam(b *testing.B) {
	p, g, m, v := adamCase(235_680, 1)
	b.SetBytes(int64(len(p)) * 4 * 4)
	for b.Loop() {
		Adam(p, g, m, v, params[0])
	}
}

// BenchmarkAdamGo is the same in Go, for comparison.
func BenchmarkAdamGo(b *testing.B) {
	p, g, m, v := adamCase(235_680, 1)
	b.SetBytes(int64(len(p)) * 4 * 4)
	for b.Loop() {
		adamGo(p, g, m, v, params[0])
	}
}

// TestReluSameBits: the assembly and the Go loop agree on every kind of
// value (negative, −0, NaN with and without the sign bit, +Inf), for
// lengths with and without a tail.
func TestReluSameBits(t *testing.T) {
	special := []float32{-1, float32(math.Copysign(0, -1)), 0, 1, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), 1e-45, -1e-45}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 3, 8, 13, 64, 1001} {
		h := make([]float32, n)
		g := make([]float32, n)
		for i := range h {
			h[i] = float32(r.NormFloat64())
			if i < len(special) {
				h[i] = special[i]
			}
			g[i] = float32(r.NormFloat64())
		}
		want := make([]float32, n)
		for i, v := range h {
			u := math.Float32bits(v)
			want[i] = math.Float32frombits(u &^ uint32(int32(u)>>31))
		}
		got := append([]float32(nil), h...)
		Relu(got)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("Relu n %d value %d (%v): %v, want %v", n, i, h[i], got[i], want[i])
			}
		}
		act := got // non-negative: a ReLU's output
		gg := append([]float32(nil), g...)
		ReluBackward(gg, act)
		for i := range g {
			w := g[i] // kept where a's bits, as a signed integer, are positive: a > 0 or a NaN
			if int32(math.Float32bits(act[i])) <= 0 {
				w = 0
			}
			if math.Float32bits(gg[i]) != math.Float32bits(w) && !(w == 0 && gg[i] == 0) {
				t.Fatalf("ReluBackward n %d value %d (a %v): %v, want %v", n, i, act[i], gg[i], w)
			}
		}
	}
}
