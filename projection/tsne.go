package projection

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Method names a projection method.
type Method string

// The projection methods.
const (
	MethodPCA  Method = "pca"
	MethodTSNE Method = "tsne"
)

// TSNEInit names how a t-SNE layout starts.
type TSNEInit string

// The t-SNE initialisations.
const (
	// InitPCA starts from the first PCA components, scaled so the first has
	// standard deviation 1e-4 (as scikit-learn does).
	InitPCA TSNEInit = "pca"
	// InitRandom starts from an isotropic gaussian with standard deviation
	// 1e-4 (as the reference implementation does).
	InitRandom TSNEInit = "random"
)

// MaxExactPoints is the most points exact t-SNE (Theta 0) accepts: it keeps
// the dense n×n affinity matrix in memory.
const MaxExactPoints = 4000

// TSNEOptions configures TSNE. Zero fields take the defaults given, except
// Theta, whose zero value asks for exact t-SNE: start from
// DefaultTSNEOptions for Barnes-Hut.
type TSNEOptions struct {
	// Dims is the layout's dimension, 2 or 3. Default 2.
	Dims int
	// Perplexity is the effective number of neighbours, at most (n−1)/3.
	// Default 30.
	Perplexity float64
	// Iterations is the number of gradient steps, early exaggeration
	// included. Default 1000.
	Iterations int
	// Theta is the Barnes-Hut accuracy: a cell is summarised by its centre
	// of mass when its side is below Theta times its distance
	// (scikit-learn's rule; the reference implementation, Rtsne, compares
	// the half-width, so its 0.5 is our 1.0). 0 means exact t-SNE: dense
	// affinities over all pairs and O(n²) gradients, for at most
	// MaxExactPoints points.
	Theta float64
	// Seed seeds the random initialisation.
	Seed uint64
	// EarlyExaggeration multiplies the affinities during the first
	// ExaggerationIterations steps. Default 12.
	EarlyExaggeration float64
	// ExaggerationIterations is the length of the early-exaggeration phase,
	// during which momentum is 0.5 (0.8 after). Default 250; negative
	// means none.
	ExaggerationIterations int
	// LearningRate is the step size for the gradient of the KL divergence.
	// 0 means 'auto': max(n/EarlyExaggeration/4, 50), as scikit-learn.
	LearningRate float64
	// Init is the starting layout when InitCoords is nil. Default InitPCA.
	Init TSNEInit
	// InitCoords, when non-nil, is the starting layout (n×Dims), used as
	// given: this is how a warm start continues from a previous layout.
	// Points that start on the same spot feel no force from each other and
	// stay together.
	InitCoords []float32
	// Threads is how many goroutines share the work. Default GOMAXPROCS.
	Threads int
	// Progress, when non-nil, is called every 50 iterations and after the
	// last with the iteration count and the current KL divergence (on the
	// sparse affinities, as the optimiser sees them). It runs on the
	// optimising goroutine: keep it short.
	Progress func(iter int, kl float64)
}

// DefaultTSNEOptions returns the options of a standard Barnes-Hut run:
// 2D, perplexity 30, 1000 iterations, theta 0.5, seed 1.
func DefaultTSNEOptions() TSNEOptions {
	return TSNEOptions{Dims: 2, Perplexity: 30, Iterations: 1000, Theta: 0.5, Seed: 1}
}

// TSNEResult is a finished t-SNE layout.
type TSNEResult struct {
	// Coords is the layout, n×Dims, centred on the origin.
	Coords []float32
	// Dims is 2 or 3.
	Dims int
	// KL is the final KL divergence between the optimised affinities and the
	// layout's: over the sparse nearest-neighbour affinities with the
	// Barnes-Hut normalisation when Theta > 0 (what the reference
	// implementation reports), exact when Theta is 0. Use KL for a score
	// that compares layouts made by different programs.
	KL float64
	// Iterations is the number of gradient steps taken.
	Iterations int
	// Seconds is the wall time taken.
	Seconds float64
}

func (o *TSNEOptions) fill(n int) error {
	if o.Dims == 0 {
		o.Dims = 2
	}
	if err := checkDims(o.Dims); err != nil {
		return err
	}
	if o.Perplexity == 0 {
		o.Perplexity = 30
	}
	if !(o.Perplexity > 0) || math.IsInf(o.Perplexity, 0) {
		return fmt.Errorf("projection: perplexity %v: %w", o.Perplexity, ErrPerplexity)
	}
	if 3*o.Perplexity > float64(n-1) {
		return fmt.Errorf("projection: perplexity %.4g too large for %d points (at most (n−1)/3 = %.4g): %w",
			o.Perplexity, n, float64(n-1)/3, ErrPerplexity)
	}
	if o.Iterations == 0 {
		o.Iterations = 1000
	}
	if o.Iterations < 0 {
		return fmt.Errorf("projection: %d iterations: %w", o.Iterations, ErrOption)
	}
	if !(o.Theta >= 0) || math.IsInf(o.Theta, 0) {
		return fmt.Errorf("projection: theta %v: %w", o.Theta, ErrOption)
	}
	if o.Theta == 0 && n > MaxExactPoints {
		return fmt.Errorf("projection: exact t-SNE (theta 0) takes at most %d points, not %d; use theta > 0: %w",
			MaxExactPoints, n, ErrOption)
	}
	if o.EarlyExaggeration == 0 {
		o.EarlyExaggeration = 12
	}
	if !(o.EarlyExaggeration >= 1) || math.IsInf(o.EarlyExaggeration, 0) {
		return fmt.Errorf("projection: early exaggeration %v, want ≥ 1: %w", o.EarlyExaggeration, ErrOption)
	}
	if o.ExaggerationIterations == 0 {
		o.ExaggerationIterations = 250
	}
	if o.ExaggerationIterations < 0 {
		o.ExaggerationIterations = 0
	}
	if o.LearningRate == 0 {
		o.LearningRate = max(float64(n)/o.EarlyExaggeration/4, 50)
	}
	if !(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0) {
		return fmt.Errorf("projection: learning rate %v: %w", o.LearningRate, ErrOption)
	}
	switch o.Init {
	case "":
		o.Init = InitPCA
	case InitPCA, InitRandom:
	default:
		return fmt.Errorf("projection: init %q, want pca or random: %w", o.Init, ErrOption)
	}
	if o.InitCoords != nil {
		if err := checkMatrix("initial layout", o.InitCoords, n, o.Dims); err != nil {
			return err
		}
	}
	return nil
}

// TSNE lays out the n×d points of x in 2 or 3 dimensions with t-SNE (van der
// Maaten & Hinton 2008): perplexity-calibrated gaussian affinities, a
// Student-t layout kernel, gradient descent with momentum, gains and early
// exaggeration. With Theta > 0 it is Barnes-Hut t-SNE (van der Maaten 2014):
// affinities over the ⌊3·perplexity⌋ exact nearest neighbours, repulsion
// through a quadtree or octree. It needs at least 4 points and a perplexity
// of at most (n−1)/3; identical points are allowed (they end up together).
// Cancelling ctx stops it between iterations with ctx's error.
func TSNE(ctx context.Context, x []float32, n, d int, opts TSNEOptions) (*TSNEResult, error) {
	start := time.Now()
	if err := checkMatrix("input", x, n, d); err != nil {
		return nil, err
	}
	if n < 4 {
		return nil, fmt.Errorf("projection: t-SNE needs at least 4 points, got %d: %w", n, ErrTooFewPoints)
	}
	if err := opts.fill(n); err != nil {
		return nil, err
	}
	pl := newPool(opts.Threads)
	defer pl.close()
	aff := computeAffinities(pl, x, n, d, opts.Perplexity, opts.Theta == 0, nil)
	y, err := initialLayout(pl, x, n, d, &opts)
	if err != nil {
		return nil, err
	}
	opt := newOptimizer(pl, aff, y, opts.Dims, opts.Theta)
	kl, err := opt.run(ctx, opts.Iterations, opts.ExaggerationIterations, opts.EarlyExaggeration, opts.LearningRate, opts.Progress)
	if err != nil {
		return nil, err
	}
	return &TSNEResult{
		Coords:     toFloat32(opt.y),
		Dims:       opts.Dims,
		KL:         kl,
		Iterations: opts.Iterations,
		Seconds:    time.Since(start).Seconds(),
	}, nil
}

// initialLayout returns the starting layout in float64.
func initialLayout(pl *pool, x []float32, n, d int, o *TSNEOptions) ([]float64, error) {
	return initialLayoutInto(pl, x, n, d, o, nil)
}

// initialLayoutInto is initialLayout writing into dst when it is large
// enough.
func initialLayoutInto(pl *pool, x []float32, n, d int, o *TSNEOptions, dst []float64) ([]float64, error) {
	dims := o.Dims
	y := resize(dst, n*dims)
	if o.InitCoords != nil {
		for i, v := range o.InitCoords {
			y[i] = float64(v)
		}
		return y, nil
	}
	if o.Init == InitPCA {
		res, err := PCA(x, n, d, dims, PCAOptions{Seed: o.Seed})
		if err != nil {
			return nil, err
		}
		var s, m float64
		for i := range n {
			m += float64(res.Coords[i*dims])
		}
		m /= float64(n)
		for i := range n {
			v := float64(res.Coords[i*dims]) - m
			s += v * v
		}
		sd := math.Sqrt(s / float64(n))
		if sd > 0 {
			for i, v := range res.Coords {
				y[i] = float64(v) / sd * 1e-4
			}
			return y, nil
		}
		// All points identical along the first component: fall back to a
		// random start, which separates nothing but moves freely.
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x75e))
	for i := range y {
		y[i] = r.NormFloat64() * 1e-4
	}
	return y, nil
}

func toFloat32(y []float64) []float32 {
	out := make([]float32, len(y))
	for i, v := range y {
		out[i] = float32(v)
	}
	return out
}

// affinities are the symmetric input affinities P: sparse (Barnes-Hut) or
// dense (exact). beta keeps each row's calibrated precision for warm starts.
type affinities struct {
	n      int
	sparse *csr
	dense  []float64 // n×n when exact
	beta   []float64
	graph  *neighbours
	buf    *affBuffers // working buffers, reused when this value is recomputed
}

// affBuffers are the working buffers of a sparse computeAffinities.
type affBuffers struct {
	knn *knnBuffers
	sym symBuffers
	pc  []float64
}

// computeAffinities calibrates the input affinities at perplexity perp:
// over all pairs when exact, else over the ⌊3·perp⌋ nearest neighbours.
// warm, when non-nil, is the previous epoch's affinities of the same points:
// its precisions seed the calibration and its neighbour graph the search.
func computeAffinities(pl *pool, x []float32, n, d int, perp float64, exact bool, warm *affinities) *affinities {
	return computeAffinitiesInto(pl, x, n, d, perp, exact, warm, nil)
}

// computeAffinitiesInto is computeAffinities overwriting dst (nil: a new
// value) and reusing its buffers, so a warm sparse computation allocates
// almost nothing. dst must not be warm.
func computeAffinitiesInto(pl *pool, x []float32, n, d int, perp float64, exact bool, warm, dst *affinities) *affinities {
	a := dst
	if a == nil {
		a = new(affinities)
	}
	a.n, a.beta = n, resize(a.beta, n)
	clear(a.beta)
	var prevGraph *neighbours
	if warm != nil && warm.n == n {
		copy(a.beta, warm.beta)
		prevGraph = warm.graph
	}
	if exact {
		a.sparse, a.graph = nil, nil
		a.dense = denseAffinities(pl, x, n, d, perp, a.beta)
		return a
	}
	a.dense = nil
	if a.buf == nil {
		a.buf = new(affBuffers)
	}
	b := a.buf
	k := min(int(3*perp), n-1)
	if b.knn == nil || cap(b.knn.free) < pl.workers+1 {
		b.knn = newKNNBuffers(pl.workers + 1)
	}
	g := exactKNNInto(pl, x, n, d, k, prevGraph, a.graph, b.knn)
	b.pc = resize(b.pc, n*k)
	calibrate(pl, g.dist, n, k, perp, a.beta, b.pc)
	a.sparse = symmetrizeInto(pl, g.idx, b.pc, n, k, a.sparse, &b.sym)
	a.graph = g
	return a
}

// denseAffinities returns the symmetric P over all pairs, n×n, zero
// diagonal.
func denseAffinities(pl *pool, x []float32, n, d int, perp float64, beta []float64) []float64 {
	p := make([]float64, n*n)
	target := math.Log(perp)
	const per = 16
	pl.run(chunksOf(n, per), func(c int) {
		lo, hi := span(c, per, n)
		dist := make([]float64, n-1)
		pc := make([]float64, n-1)
		for i := lo; i < hi; i++ {
			m := 0
			for j := range n {
				if j != i {
					dist[m] = sqDist64(x[i*d:(i+1)*d], x[j*d:(j+1)*d])
					m++
				}
			}
			beta[i] = calibrateRow(dist, target, beta[i], pc)
			m = 0
			for j := range n {
				if j != i {
					p[i*n+j] = pc[m]
					m++
				}
			}
		}
	})
	scale := 1 / (2 * float64(n))
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := (p[i*n+j] + p[j*n+i]) * scale
			p[i*n+j], p[j*n+i] = v, v
		}
	}
	return p
}
