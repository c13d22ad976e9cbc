package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"github.com/contrastive-explorer/explorer/trainer/vec"
)

// MLP is the encoder: fully connected layers with ReLU between them, a linear
// output layer of width D, and L2 normalisation of each output row, so every
// embedding lies on the unit sphere.
//
// All weights and biases live in one flat slice (Params) with a matching
// gradient slice (Grads), so the optimiser is a single loop. Layer l's
// weights are stored in×out, row-major, followed by its out biases.
//
// An MLP keeps its activations for the last batch size it saw; Forward and
// Backward allocate nothing once warm for that size. It is not safe for
// concurrent use.
type MLP struct {
	sizes  []int // input, hidden..., output widths
	params []float32
	grads  []float32
	layers []layer

	// Training buffers, for batches of up to cap rows.
	rows   int
	cap    int
	input  []float32   // the batch given to Forward (aliased, not copied)
	acts   [][]float32 // acts[l]: B×sizes[l+1], layer l's output (post-ReLU for hidden layers)
	deltas [][]float32 // deltas[l]: B×sizes[l+1], dLoss/d(pre-activation of layer l)
	z      []float32   // B×D normalised output
	norms  []float32   // B row norms of the output layer before normalisation

	// Evaluation buffers for Embed.
	evalA, evalB, evalNorms []float32
}

// layer is a view of one layer's weights and gradients inside the flat slices.
type layer struct {
	in, out int
	w, b    []float32 // in×out weights, out biases
	dw, db  []float32
}

// embedChunk is how many rows Embed pushes through the network at a time.
const embedChunk = 256

// normFloor keeps the normalisation finite for an all-zero output row, as
// PyTorch's F.normalize does with eps 1e-12.
const normFloor = 1e-12

// NewMLP returns an encoder with layer widths sizes: sizes[0] is the input
// dimension, the last is the embedding dimension D, and those between are
// hidden layers. Weights and biases are drawn uniformly from
// ±1/sqrt(fan-in), PyTorch's nn.Linear default (Kaiming uniform with
// a = sqrt(5)), using rng. NewMLP panics if there are fewer than two sizes or
// one is not positive: that is a programmer error (Config.Validate checks
// user input).
func NewMLP(sizes []int, rng *rand.Rand) *MLP {
	if len(sizes) < 2 {
		panic("trainer: an MLP needs an input and an output size")
	}
	total := 0
	for i, s := range sizes {
		if s <= 0 {
			panic(fmt.Sprintf("trainer: MLP layer size %d is %d", i, s))
		}
		if i > 0 {
			total += sizes[i-1]*s + s
		}
	}
	m := &MLP{
		sizes:  append([]int(nil), sizes...),
		params: make([]float32, total),
		grads:  make([]float32, total),
	}
	off := 0
	for l := 0; l+1 < len(sizes); l++ {
		in, out := sizes[l], sizes[l+1]
		ly := layer{in: in, out: out}
		ly.w, ly.dw = m.params[off:off+in*out], m.grads[off:off+in*out]
		off += in * out
		ly.b, ly.db = m.params[off:off+out], m.grads[off:off+out]
		off += out
		bound := 1 / math.Sqrt(float64(in))
		for i := range ly.w {
			ly.w[i] = float32((2*rng.Float64() - 1) * bound)
		}
		for i := range ly.b {
			ly.b[i] = float32((2*rng.Float64() - 1) * bound)
		}
		m.layers = append(m.layers, ly)
	}
	return m
}

// InDim returns the input dimension.
func (m *MLP) InDim() int { return m.sizes[0] }

// OutDim returns the embedding dimension D.
func (m *MLP) OutDim() int { return m.sizes[len(m.sizes)-1] }

// Params returns all weights and biases as one slice, aliasing the
// encoder's storage: writing to it changes the encoder.
func (m *MLP) Params() []float32 { return m.params }

// Grads returns the gradient of the last Backward, aligned with Params.
func (m *MLP) Grads() []float32 { return m.grads }

// grow makes the training buffers hold b rows, allocating only when b is
// larger than any batch seen before.
func (m *MLP) grow(b int) {
	m.rows = b
	if b <= m.cap {
		return
	}
	m.cap = b
	nl := len(m.layers)
	m.acts = make([][]float32, nl)
	m.deltas = make([][]float32, nl)
	for l, ly := range m.layers {
		m.acts[l] = make([]float32, b*ly.out)
		m.deltas[l] = make([]float32, b*ly.out)
	}
	m.z = make([]float32, b*m.OutDim())
	m.norms = make([]float32, b)
}

// Forward runs a batch of b rows x (b×InDim, row-major) through the network
// and returns the b×D normalised embeddings. The result and the activations
// kept for Backward alias internal buffers, valid until the next Forward; x
// itself is kept (not copied) until then and must not change. Forward panics
// if x is shorter than b×InDim.
func (m *MLP) Forward(x []float32, b int) []float32 {
	if len(x) < b*m.InDim() {
		panic("trainer: MLP.Forward input too short")
	}
	m.grow(b)
	m.input = x[:b*m.InDim()]
	in := m.input
	last := len(m.layers) - 1
	for l, ly := range m.layers {
		h := m.acts[l][:b*ly.out]
		linear(ly, in, b, h)
		if l < last {
			relu(h)
		}
		in = h
	}
	d := m.OutDim()
	normalizeRows(in, b, d, m.z[:b*d], m.norms[:b])
	return m.z[:b*d]
}

// Backward takes dLoss/dz for the embeddings of the last Forward (b×D) and
// overwrites Grads with dLoss/dParams. It back-propagates through the L2
// normalisation, the linear layers and the ReLUs, but not into the input,
// which has no parameters.
func (m *MLP) Backward(dz []float32) { m.backward(dz, nil) }

// BackwardInput is Backward that also writes dLoss/dx, the gradient with
// respect to the input of the last Forward (b×InDim), into dx: what a layer
// in front of the MLP (an embedding bag) needs. It panics if dx is shorter
// than b×InDim.
func (m *MLP) BackwardInput(dz, dx []float32) {
	if len(dx) < m.rows*m.InDim() {
		panic("trainer: MLP.BackwardInput dx too short")
	}
	m.backward(dz, dx[:m.rows*m.InDim()])
}

func (m *MLP) backward(dz, dx []float32) {
	b, d := m.rows, m.OutDim()
	last := len(m.layers) - 1
	normBackward(m.z[:b*d], m.norms[:b], dz[:b*d], b, d, m.deltas[last][:b*d])
	for l := last; l >= 0; l-- {
		ly := m.layers[l]
		delta := m.deltas[l][:b*ly.out]
		in := m.input
		if l > 0 {
			in = m.acts[l-1][:b*ly.in]
		}
		// dW = inᵀ·delta (in×out), db = column sums of delta.
		gemm.Sgemm(true, false, ly.in, ly.out, b, 1, in, ly.in, delta, ly.out, 0, ly.dw, ly.out)
		colSums(delta, b, ly.out, ly.db)
		if l == 0 {
			if dx != nil { // the input feeds the first layer linearly
				gemm.Sgemm(false, true, b, ly.in, ly.out, 1, delta, ly.out, ly.w, ly.out, 0, dx, ly.in)
			}
			break
		}
		// d(in) = delta·Wᵀ, then through the ReLU that produced in.
		prev := m.deltas[l-1][:b*ly.in]
		gemm.Sgemm(false, true, b, ly.in, ly.out, 1, delta, ly.out, ly.w, ly.out, 0, prev, ly.in)
		reluBackward(prev, in)
	}
}

// Embed writes the normalised embeddings of n rows x (n×InDim) into out
// (n×D), a few hundred rows at a time, without touching the training
// buffers or gradients. It panics if x or out is too short.
func (m *MLP) Embed(x []float32, n int, out []float32) {
	in, d := m.InDim(), m.OutDim()
	if len(x) < n*in || len(out) < n*d {
		panic("trainer: MLP.Embed slices too short")
	}
	if m.evalA == nil {
		widest := 0
		for _, s := range m.sizes[1:] {
			widest = max(widest, s)
		}
		m.evalA = make([]float32, embedChunk*widest)
		m.evalB = make([]float32, embedChunk*widest)
		m.evalNorms = make([]float32, embedChunk)
	}
	last := len(m.layers) - 1
	for start := 0; start < n; start += embedChunk {
		b := min(embedChunk, n-start)
		src := x[start*in : (start+b)*in]
		bufs := [2][]float32{m.evalA, m.evalB}
		for l, ly := range m.layers {
			var h []float32
			if l == last {
				h = out[start*d : (start+b)*d]
			} else {
				h = bufs[l%2][:b*ly.out]
			}
			linear(ly, src, b, h)
			if l < last {
				relu(h)
			}
			src = h
		}
		normalizeRows(src, b, d, src, m.evalNorms[:b])
	}
}

// linear computes h = x·W + b for b rows.
func linear(ly layer, x []float32, b int, h []float32) {
	for r := 0; r < b; r++ {
		copy(h[r*ly.out:(r+1)*ly.out], ly.b)
	}
	gemm.Sgemm(false, false, b, ly.out, ly.in, 1, x, ly.in, ly.w, ly.out, 1, h, ly.out)
}

// relu and reluBackward are the ReLU and its gradient mask, branch-free
// and eight lanes at a time (vec.Relu, vec.ReluBackward).
func relu(h []float32) { vec.Relu(h) }

func reluBackward(g, a []float32) { vec.ReluBackward(g, a) }

// colSums writes the column sums of the b×n matrix x into s.
func colSums(x []float32, b, n int, s []float32) {
	s = s[:n]
	copy(s, x[:n])
	for r := 1; r < b; r++ {
		vec.Add(s, x[r*n:(r+1)*n])
	}
}

// normalizeRows writes each row of the b×d matrix y divided by its norm into
// z (which may be y) and the norms into norms.
func normalizeRows(y []float32, b, d int, z, norms []float32) {
	for r := 0; r < b; r++ {
		row := y[r*d : (r+1)*d]
		var ss float32
		for _, v := range row {
			ss += v * v
		}
		n := max(float32(math.Sqrt(float64(ss))), normFloor)
		norms[r] = n
		inv := 1 / n
		out := z[r*d : (r+1)*d]
		for j, v := range row {
			out[j] = v * inv
		}
	}
}

// normBackward maps dLoss/dz to dLoss/dy for z = y/‖y‖:
// dy = (dz − z·(z·dz)) / ‖y‖, row by row.
func normBackward(z, norms, dz []float32, b, d int, dy []float32) {
	for r := 0; r < b; r++ {
		zr, gr, out := z[r*d:(r+1)*d], dz[r*d:(r+1)*d], dy[r*d:(r+1)*d]
		var dot float32
		for j, v := range zr {
			dot += v * gr[j]
		}
		inv := 1 / norms[r]
		for j, v := range zr {
			out[j] = (gr[j] - v*dot) * inv
		}
	}
}

// network is the encoder a run trains: the MLP, and in front of it, for a
// sparse dataset, an embedding bag whose output is the MLP's input (so the
// MLP's first dense layer reads the bag, Embed wide).
type network struct {
	bag    *bag // nil for dense datasets
	mlp    *MLP
	dBag   []float32 // B×Embed: dLoss/d(bag output)
	evalIn []float32 // embedChunk×Embed: bag outputs while embedding
}

// newNetwork builds the encoder for cfg on inputs of width dim (dense), or
// with a bag of bagRows rows (bagRows > 0, sparse).
func newNetwork(cfg Config, dim, bagRows int, rng *rand.Rand) *network {
	in := dim
	n := &network{}
	if bagRows > 0 {
		in = cfg.Embed
		n.bag = newBag(bagRows, cfg.Embed, rng)
	}
	n.mlp = NewMLP(append(append([]int{in}, cfg.Hidden...), cfg.Dim), rng)
	return n
}

// forward embeds the first rows rows of b (b×D, valid until the next
// forward).
func (n *network) forward(b *batch, rows int) []float32 {
	if n.bag == nil {
		return n.mlp.Forward(b.x, rows)
	}
	return n.mlp.Forward(n.bag.forward(&b.sp, rows), rows)
}

// backward back-propagates dLoss/dz of the last forward into the MLP's
// gradients and the bag's touched rows.
func (n *network) backward(dz []float32) {
	if n.bag == nil {
		n.mlp.Backward(dz)
		return
	}
	need := n.bag.n * n.bag.width
	if cap(n.dBag) < need {
		n.dBag = make([]float32, need)
	}
	n.mlp.BackwardInput(dz, n.dBag[:need])
	n.bag.backward(n.dBag[:need])
}

// embedDense writes the embeddings of the rows dense rows x into out.
func (n *network) embedDense(x []float32, rows int, out []float32) {
	n.mlp.Embed(x, rows, out)
}

// embedSparse writes the embeddings of the rows of in into out, a chunk at
// a time, without touching the training buffers.
func (n *network) embedSparse(in *sparseRows, out []float32) {
	e, d := n.bag.width, n.mlp.OutDim()
	if n.evalIn == nil {
		n.evalIn = make([]float32, embedChunk*e)
	}
	total := in.rows()
	for start := 0; start < total; start += embedChunk {
		rows := min(embedChunk, total-start)
		chunk := in.slice(start, start+rows)
		bagProduct(n.bag.w, e, &chunk, rows, n.evalIn[:rows*e])
		n.mlp.Embed(n.evalIn[:rows*e], rows, out[start*d:(start+rows)*d])
	}
}
