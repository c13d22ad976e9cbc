package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// linearLoss is L = Σ c⊙z computed in float64, whose gradient dL/dz is c: a
// probe for checking the encoder's backward pass against finite differences.
func linearLoss(z []float32, c []float32) float64 {
	var s float64
	for i, v := range z {
		s += float64(v) * float64(c[i])
	}
	return s
}

func randomSlice(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

// TestMLPGradient checks every weight and bias of every layer against
// central finite differences, for networks with zero, one and two hidden
// layers.
func TestMLPGradient(t *testing.T) {
	for _, sizes := range [][]int{{5, 3}, {5, 6, 3}, {5, 7, 6, 4}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			m := NewMLP(sizes, rng)
			const b = 4
			x := randomSlice(rng, b*sizes[0], 1)
			c := randomSlice(rng, b*m.OutDim(), 1)
			m.Forward(x, b)
			m.Backward(c)
			grads := append([]float32(nil), m.Grads()...)

			const h = 1e-3
			params := m.Params()
			worst := 0.0
			for i := range params {
				orig := params[i]
				params[i] = orig + h
				up := linearLoss(m.Forward(x, b), c)
				params[i] = orig - h
				down := linearLoss(m.Forward(x, b), c)
				params[i] = orig
				num := (up - down) / (2 * h)
				diff := math.Abs(num - float64(grads[i]))
				worst = max(worst, diff)
				if diff > 2e-3+1e-2*math.Abs(num) {
					t.Errorf("param %d (%s): backward %.6f, finite difference %.6f", i, m.paramName(i), grads[i], num)
				}
			}
			t.Logf("%d parameters, worst absolute difference %.2g", len(params), worst)
		})
	}
}

// paramName says which layer, weight or bias the flat parameter i is.
func (m *MLP) paramName(i int) string {
	for l, ly := range m.layers {
		if i < len(ly.w) {
			return fmt.Sprintf("layer %d weight %d", l, i)
		}
		i -= len(ly.w)
		if i < len(ly.b) {
			return fmt.Sprintf("layer %d bias %d", l, i)
		}
		i -= len(ly.b)
	}
	return "?"
}

// TestNormBackward checks the L2 normalisation's backward pass on its own,
// including rows far from unit length.
func TestNormBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const b, d = 3, 5
	y := randomSlice(rng, b*d, 3)
	c := randomSlice(rng, b*d, 1)
	z, norms := make([]float32, b*d), make([]float32, b)
	normalizeRows(y, b, d, z, norms)
	dy := make([]float32, b*d)
	normBackward(z, norms, c, b, d, dy)
	const h = 1e-3
	for i := range y {
		orig := y[i]
		y[i] = orig + h
		normalizeRows(y, b, d, z, norms)
		up := linearLoss(z, c)
		y[i] = orig - h
		normalizeRows(y, b, d, z, norms)
		down := linearLoss(z, c)
		y[i] = orig
		num := (up - down) / (2 * h)
		if math.Abs(num-float64(dy[i])) > 1e-3+1e-2*math.Abs(num) {
			t.Errorf("y[%d]: backward %.6f, finite difference %.6f", i, dy[i], num)
		}
	}
}

func TestForwardUnitRowsAndEmbed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := NewMLP([]int{10, 16, 8, 4}, rng)
	const n = embedChunk + 37 // more than one chunk
	x := randomSlice(rng, n*10, 1)
	out := make([]float32, n*4)
	m.Embed(x, n, out)
	for r := 0; r < n; r++ {
		var ss float64
		for _, v := range out[r*4 : (r+1)*4] {
			ss += float64(v) * float64(v)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Fatalf("row %d has squared norm %v, want 1", r, ss)
		}
	}
	// Forward on a batch gives the same rows as Embed.
	z := m.Forward(x[:20*10], 20)
	for i, v := range z {
		if math.Abs(float64(v-out[i])) > 1e-6 {
			t.Fatalf("Forward[%d] = %v, Embed = %v", i, v, out[i])
		}
	}
}

func TestInitBounds(t *testing.T) {
	m := NewMLP([]int{100, 50, 10}, rand.New(rand.NewPCG(1, 2)))
	for l, ly := range m.layers {
		bound := float32(1 / math.Sqrt(float64(ly.in)))
		var maxAbs float32
		for _, v := range append(append([]float32(nil), ly.w...), ly.b...) {
			maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
		}
		if maxAbs > bound || maxAbs < bound*0.9 {
			t.Errorf("layer %d: largest |param| %v, want just under 1/sqrt(%d) = %v", l, maxAbs, ly.in, bound)
		}
	}
}

func TestReLU(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	h := []float32{-2, -0.5, negZero, 0, 0.25, 3}
	relu(h)
	want := []float32{0, 0, 0, 0, 0.25, 3}
	for i := range h {
		if h[i] != want[i] || math.Signbit(float64(h[i])) {
			t.Errorf("relu[%d] = %v, want +%v", i, h[i], want[i])
		}
	}
	g := []float32{1, 2, 3, 4, 5, 6}
	reluBackward(g, h)
	wantG := []float32{0, 0, 0, 0, 5, 6}
	for i := range g {
		if g[i] != wantG[i] {
			t.Errorf("reluBackward[%d] = %v, want %v", i, g[i], wantG[i])
		}
	}
}

func TestForwardBackwardNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m := NewMLP([]int{64, 32, 16}, rng)
	x := randomSlice(rng, 32*64, 1)
	c := randomSlice(rng, 32*16, 1)
	m.Forward(x, 32)
	m.Backward(c)
	if a := testing.AllocsPerRun(20, func() {
		m.Forward(x, 32)
		m.Backward(c)
	}); a != 0 {
		t.Errorf("Forward+Backward allocate %v times per batch, want 0", a)
	}
}
