package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomSparse returns b sparse rows over cols bag rows with 1..maxNNZ
// nonzeros each, some columns shared between rows (and repeated within
// none).
func randomSparse(rng *rand.Rand, b, cols, maxNNZ int) *sparseRows {
	s := &sparseRows{}
	s.reset()
	for range b {
		n := 1 + rng.IntN(maxNNZ)
		perm := rng.Perm(cols)[:n]
		slices.Sort(perm)
		var c []int32
		var v []float32
		for _, p := range perm {
			c = append(c, int32(p))
			v = append(v, float32(rng.NormFloat64()))
		}
		s.appendRow(c, v)
	}
	return s
}

// TestBagGradient checks the gradient of the network with an embedding bag
// in front against central finite differences: every touched table row,
// an untouched row (whose gradient must be absent) and every MLP
// parameter.
func TestBagGradient(t *testing.T) {
	for _, hidden := range [][]int{nil, {6}} {
		rng := rand.New(rand.NewPCG(5, 6))
		cfg := Config{Embed: 4, Hidden: hidden, Dim: 3}
		const rows, b = 9, 5
		n := newNetwork(cfg, 0, rows, rng)
		in := randomSparse(rng, b, rows-1, 4) // row rows-1 is never used
		bt := &batch{sp: *in}
		c := randomSlice(rng, b*cfg.Dim, 1)
		n.forward(bt, b)
		n.backward(c)

		grad := make([]float32, len(n.bag.w)) // the bag's sparse gradient, densified
		for k, r := range n.bag.touched {
			copy(grad[int(r)*4:(int(r)+1)*4], n.bag.grad[k*4:(k+1)*4])
		}
		if slices.Contains(n.bag.touched, rows-1) {
			t.Errorf("hidden %v: the unused row %d has a gradient", hidden, rows-1)
		}
		mlpGrad := append([]float32(nil), n.mlp.Grads()...)

		const h = 1e-3
		loss := func() float64 { return linearLoss(n.forward(bt, b), c) }
		check := func(what string, p []float32, i int, got float32) {
			orig := p[i]
			p[i] = orig + h
			up := loss()
			p[i] = orig - h
			down := loss()
			p[i] = orig
			num := (up - down) / (2 * h)
			if diff := math.Abs(num - float64(got)); diff > 2e-3+1e-2*math.Abs(num) {
				t.Errorf("hidden %v: %s %d: backward %.6f, finite difference %.6f", hidden, what, i, got, num)
			}
		}
		for i := range n.bag.w {
			check("bag weight", n.bag.w, i, grad[i])
		}
		for i := range n.mlp.Params() {
			check("MLP parameter", n.mlp.Params(), i, mlpGrad[i])
		}
	}
}
