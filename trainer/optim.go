package trainer

import (
	"fmt"
	"math"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"github.com/contrastive-explorer/explorer/trainer/vec"
)

// optimizer updates a flat parameter slice from the gradient slice it was
// built with. step allocates nothing.
type optimizer interface {
	step(lr float32)
}

// Adam's moment decay rates and epsilon: the values of the paper and of
// PyTorch's defaults.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// newOptimizer returns the optimiser named by cfg.Optimizer over params and
// grads (equal lengths). Unknown names are a programmer error here, as Config
// was validated.
func newOptimizer(cfg Config, params, grads []float32) optimizer {
	switch cfg.Optimizer {
	case "sgd":
		return &sgd{params: params, grads: grads, vel: make([]float32, len(params)),
			momentum: float32(cfg.Momentum), decay: float32(cfg.WeightDecay)}
	case "adam", "adamw":
		return &adam{params: params, grads: grads,
			m: make([]float32, len(params)), v: make([]float32, len(params)),
			decay: float32(cfg.WeightDecay), decoupled: cfg.Optimizer == "adamw"}
	}
	panic(fmt.Sprintf("trainer: unknown optimizer %q", cfg.Optimizer))
}

// sgd is stochastic gradient descent with (heavy-ball) momentum and L2
// weight decay, as PyTorch's torch.optim.SGD:
//
//	g ← g + decay·p;  v ← momentum·v + g;  p ← p − lr·v
type sgd struct {
	params, grads, vel []float32
	momentum, decay    float32
}

func (o *sgd) step(lr float32) {
	p, g, v := o.params, o.grads[:len(o.params)], o.vel[:len(o.params)]
	mu, wd := o.momentum, o.decay
	for i := range p {
		vi := mu*v[i] + g[i] + wd*p[i]
		v[i] = vi
		p[i] -= lr * vi
	}
}

// adam is Adam (Kingma & Ba 2015) with bias correction, in PyTorch's form:
//
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + ε)
//
// With decoupled false, weight decay is L2 added to the gradient
// (torch.optim.Adam); with decoupled true it is AdamW's p ← p·(1 − lr·decay)
// before the update (Loshchilov & Hutter 2019, torch.optim.AdamW).
type adam struct {
	params, grads, m, v []float32
	decay               float32
	decoupled           bool
	t                   int
	cur                 vec.AdamParams // this step's, for Range
}

// adamMinRows is the fewest parameters a goroutine updates: a quarter of
// a millisecond's work, well above the cost of waking a worker.
const adamMinRows = 1 << 15

func (o *adam) step(lr float32) {
	o.t++
	o.cur = adamParams(lr, o.t, o.decay, o.decoupled)
	gemm.For(len(o.params), adamMinRows, o)
}

// Range updates parameters [lo, hi): the step split between the cores.
// Each value's update depends on nothing but its own, so any split gives
// the same bits.
func (o *adam) Range(lo, hi int) {
	vec.Adam(o.params[lo:hi], o.grads[lo:hi], o.m[lo:hi], o.v[lo:hi], o.cur)
}

// adamParams are the scalars of Adam's step t (from 1) at rate lr.
func adamParams(lr float32, t int, decay float32, decoupled bool) vec.AdamParams {
	bc1 := 1 - math.Pow(adamBeta1, float64(t))
	bc2 := 1 - math.Pow(adamBeta2, float64(t))
	a := vec.AdamParams{
		B1: adamBeta1, C1: 1 - adamBeta1, B2: adamBeta2, C2: 1 - adamBeta2,
		L2: decay, Shrink: 1,
		StepSize: float32(float64(lr) / bc1), InvSqrtBC2: float32(1 / math.Sqrt(bc2)), Eps: adamEps,
	}
	if decoupled {
		a.L2, a.Shrink = 0, 1-lr*decay
	}
	return a
}

// rowOptimizer updates the rows of an embedding table that a step's batch
// touched, with the same rule and settings as the run's optimiser, lazily:
// a row's momentum (SGD) or moments (Adam) and its weight decay advance only
// on the steps that touch it, as in TensorFlow's LazyAdam and PyTorch's
// SparseAdam. The bias correction follows the global step count. An update
// costs O(touched rows × width), not O(table), which is what makes a table
// of tens of thousands of n-gram rows cheap to train.
type rowOptimizer struct {
	adam      bool
	m, v      []float32 // Adam's moments, or SGD's velocity in m; table-sized
	momentum  float32
	decay     float32
	decoupled bool
	t         int
}

// newRowOptimizer returns the lazy form of cfg.Optimizer for a table of n
// values.
func newRowOptimizer(cfg Config, n int) *rowOptimizer {
	o := &rowOptimizer{
		adam:      cfg.Optimizer != "sgd",
		m:         make([]float32, n),
		momentum:  float32(cfg.Momentum),
		decay:     float32(cfg.WeightDecay),
		decoupled: cfg.Optimizer == "adamw",
	}
	if o.adam {
		o.v = make([]float32, n)
	}
	return o
}

// step updates the rows of w (width values each) listed in rows, whose
// gradients are the consecutive width-long pieces of grads.
func (o *rowOptimizer) step(lr float32, w []float32, width int, rows []int32, grads []float32) {
	o.t++
	if !o.adam {
		mu, wd := o.momentum, o.decay
		for k, r := range rows {
			off := int(r) * width
			p, vel, g := w[off:off+width], o.m[off:off+width], grads[k*width:(k+1)*width]
			for i := range p {
				vi := mu*vel[i] + g[i] + wd*p[i]
				vel[i] = vi
				p[i] -= lr * vi
			}
		}
		return
	}
	a := adamParams(lr, o.t, o.decay, o.decoupled)
	for k, r := range rows {
		off := int(r) * width
		vec.Adam(w[off:off+width], grads[k*width:(k+1)*width], o.m[off:off+width], o.v[off:off+width], a)
	}
}

// LearningRate returns the learning rate for step (counted from 0) of a run
// of total steps with base rate base. The first warmup steps rise linearly
// from base/warmup to base; after them, "constant" stays at base and
// "cosine" decays along half a cosine from base at the end of warmup towards
// 0 at step total (SGDR without restarts, Loshchilov & Hutter 2017). Unknown
// schedules are treated as constant.
func LearningRate(schedule string, base float64, step, total, warmup int) float64 {
	if step < warmup {
		return base * float64(step+1) / float64(warmup)
	}
	if schedule != "cosine" || total <= warmup {
		return base
	}
	progress := min(float64(step-warmup)/float64(total-warmup), 1)
	return base * 0.5 * (1 + math.Cos(math.Pi*progress))
}
