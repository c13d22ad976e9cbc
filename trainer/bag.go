package trainer

import (
	"math"
	"math/rand/v2"
)

// bag is an embedding bag (fastText's input layer, PyTorch's EmbeddingBag
// with mode "sum" and per-sample weights): a table of rows×width float32
// weights that maps a sparse input row x to x·W, the sum of value × table
// row over the row's nonzeros. For hashed n-grams that is the weighted sum
// of the n-grams' embeddings; for one-hot item ids it is the item's
// embedding. Its output is the MLP's input.
//
// The gradient of a batch touches only the table rows its inputs use, so
// backward accumulates into those rows alone (touched, grad) and the
// optimiser updates only them (see rowOptimizer). A bag keeps its buffers
// for the largest batch seen and allocates nothing once warm. It is not safe
// for concurrent use.
type bag struct {
	width int
	w     []float32 // rows×width, row-major

	in  *sparseRows // the batch given to forward (kept, not copied)
	n   int         // its number of rows
	out []float32   // n×width output of the last forward

	slot    []int32   // per table row: its index in touched, or -1
	touched []int32   // table rows with a gradient this step, in first-touch order
	grad    []float32 // len(touched)×width: dLoss/d(row)
}

// newBag returns a bag of rows×width weights drawn from N(0, 1/width), so a
// unit-length input row gives outputs of variance 1/width per coordinate,
// the scale of the PyTorch-initialised linear layers after it.
func newBag(rows, width int, rng *rand.Rand) *bag {
	b := &bag{width: width, w: make([]float32, rows*width), slot: make([]int32, rows)}
	scale := 1 / math.Sqrt(float64(width))
	for i := range b.w {
		b.w[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range b.slot {
		b.slot[i] = -1
	}
	return b
}

// reserve sizes the gradient buffers for steps touching up to n rows, so
// that training does not grow them.
func (b *bag) reserve(n int) {
	n = min(n, b.rows())
	b.touched = make([]int32, 0, n)
	b.grad = make([]float32, 0, n*b.width)
}

// rows returns the number of table rows.
func (b *bag) rows() int { return len(b.slot) }

// forward computes the bag outputs of the first n rows of in (n×width) into
// an internal buffer valid until the next forward, and keeps in for
// backward.
func (b *bag) forward(in *sparseRows, n int) []float32 {
	if cap(b.out) < n*b.width {
		b.out = make([]float32, n*b.width)
	}
	b.in, b.n = in, n
	out := b.out[:n*b.width]
	bagProduct(b.w, b.width, in, n, out)
	return out
}

// bagProduct writes x·W for the first n rows of in into out (n×width).
func bagProduct(w []float32, width int, in *sparseRows, n int, out []float32) {
	for r := range n {
		dst := out[r*width : (r+1)*width]
		clear(dst)
		cols, vals := in.row(r)
		for k, c := range cols {
			axpy(dst, vals[k], w[int(c)*width:(int(c)+1)*width])
		}
	}
}

// axpy adds a·x to y (equal lengths).
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for j, v := range x {
		y[j] += a * v
	}
}

// backward takes dLoss/d(output) for the rows of the last forward (n×width)
// and accumulates dLoss/dW into the rows those inputs touch: row c gains
// Σ value × dOut[r] over the nonzeros (r, c). Gradients add up until update
// consumes them.
func (b *bag) backward(dOut []float32) {
	in, width := b.in, b.width
	for r := range b.n {
		g := dOut[r*width : (r+1)*width]
		cols, vals := in.row(r)
		for k, c := range cols {
			s := b.slot[c]
			if s < 0 {
				s = int32(len(b.touched))
				b.slot[c] = s
				b.touched = append(b.touched, c)
				n := len(b.touched) * width
				if cap(b.grad) < n {
					b.grad = append(b.grad[:cap(b.grad)], make([]float32, n-cap(b.grad)+n/2)...)
				}
				b.grad = b.grad[:n]
				clear(b.grad[n-width:])
			}
			axpy(b.grad[int(s)*width:(int(s)+1)*width], vals[k], g)
		}
	}
}

// update applies the accumulated gradient with opt at learning rate lr and
// forgets it.
func (b *bag) update(opt *rowOptimizer, lr float32) {
	opt.step(lr, b.w, b.width, b.touched, b.grad)
	for _, c := range b.touched {
		b.slot[c] = -1
	}
	b.touched, b.grad = b.touched[:0], b.grad[:0]
}
