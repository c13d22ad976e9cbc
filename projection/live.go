package projection

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// LiveOptions configures a Live projector. Zero fields take the defaults
// given.
type LiveOptions struct {
	// Method is the first frame's method. Default MethodPCA.
	Method Method
	// Dims is 2 or 3. Default 2.
	Dims int
	// Perplexity is t-SNE's perplexity, lowered to (n−1)/3 for inputs too
	// small for it. Default 30.
	Perplexity float64
	// Theta is the Barnes-Hut accuracy; Live always uses Barnes-Hut.
	// Default 0.8, coarser than TSNE's 0.5: frames must keep pace with
	// training, warm frames only refine the previous layout, and the
	// group-wise cell test keeps the force error near 2%.
	Theta float64
	// Iterations is the length of a cold t-SNE frame (the first, or the
	// first after the number of points changed), early exaggeration
	// included. Default 1000.
	Iterations int
	// WarmIterations is the length of a warm-started t-SNE frame, which
	// continues from the previous frame without exaggeration. Default 30.
	WarmIterations int
	// LearningRate is t-SNE's step size; 0 means auto, as in TSNEOptions.
	LearningRate float64
	// Neighbors and MinDist are UMAP's n_neighbors and min_dist (spread
	// 1). Defaults 15 and 0.1, umap-learn's.
	Neighbors int
	MinDist   float64
	// UMAPEpochs is the length of a cold UMAP frame (the first, the first
	// after another method, or after the number of points changed); 0
	// means UMAP's default (UMAPOptions.Epochs). WarmUMAPEpochs is the
	// length of a warm frame, which continues from the previous layout on
	// the new neighbour graph with a quarter of the step (as umap-learn's
	// transform does for new points). Default 30.
	UMAPEpochs, WarmUMAPEpochs int
	// QualitySample caps how many points the per-frame quality figures are
	// computed on: above it, on a fixed random subsample of that size
	// (drawn once per number of points, so figures are comparable from frame
	// to frame). Default 2000; negative turns the figures off.
	QualitySample int
	// Seed seeds initialisations and the quality subsample.
	Seed uint64
	// Threads is how many goroutines a frame uses. Default GOMAXPROCS.
	Threads int
}

// Frame is one projected epoch.
type Frame struct {
	// Coords is the layout, n×Dims, a fresh slice the caller may keep.
	Coords []float32
	// Dims is 2 or 3.
	Dims int
	// Method made the frame.
	Method Method
	// Warm reports whether the frame continued from the previous one
	// (t-SNE) or was aligned to it (PCA).
	Warm bool
	// Iterations is the number of t-SNE steps or UMAP epochs taken; 0 for
	// PCA.
	Iterations int
	// KL is t-SNE's final KL divergence on its optimised affinities (see
	// TSNEResult.KL); 0 for PCA frames.
	KL float64
	// Trustworthiness and KNNPreservation are the k=10 quality figures,
	// over QualityPoints points (all of them, or the fixed subsample).
	Trustworthiness float64
	KNNPreservation float64
	// QualityPoints is how many points the quality figures cover; 0 when
	// they were not computed (turned off, or fewer than 22 points).
	QualityPoints int
	// ExplainedVarianceRatio is each PCA component's share of the variance;
	// nil for t-SNE.
	ExplainedVarianceRatio []float64
	// Seconds is the time the frame took, quality figures included.
	Seconds float64
}

// Live turns a stream of embeddings, one per epoch, into a stream of frames
// that change only as much as the embeddings do: t-SNE frames warm-start
// from the previous layout (no exaggeration, WarmIterations steps, the
// previous frame's calibrated precisions and neighbour graph), and PCA frames are rotated or
// reflected onto the previous frame (Procrustes) so components cannot flip.
// Switching method keeps the picture too: the first t-SNE frame after PCA
// starts from the PCA layout and is aligned to it.
//
// Next must be called from one goroutine at a time; SetMethod may be called
// from any goroutine at any time and takes effect at the next frame.
type Live struct {
	opts LiveOptions

	methodMu sync.Mutex
	method   Method

	mu         sync.Mutex // serialises Next
	prev       []float32
	prevN      int
	prevMethod Method
	aff        *affinities // the previous t-SNE frame's, for warm starts
	perplexity float64     // the perplexity aff was calibrated at
	umapNB     *neighbours // the previous UMAP frame's kNN graph, for warm starts
	sample     []int

	// Buffers reused from frame to frame, so a warm frame allocates little
	// beyond its Coords: the affinities not in use as aff (computed into
	// while aff seeds the warm start, then swapped), the optimiser and the
	// quality figures' scratch.
	spare   *affinities
	opt     *optimizer
	quality scoreBuffers
}

// warmUMAPRate is a warm UMAP frame's initial step: a quarter of a cold
// frame's, as umap-learn's transform takes for new points, so the layout
// is refined rather than reshuffled.
const warmUMAPRate = 0.25

// qualityK is the neighbourhood size of the per-frame quality figures.
const qualityK = 10

// NewLive returns a Live projector, or an error for an option out of range.
func NewLive(opts LiveOptions) (*Live, error) {
	if opts.Method == "" {
		opts.Method = MethodPCA
	}
	if opts.Dims == 0 {
		opts.Dims = 2
	}
	if opts.Perplexity == 0 {
		opts.Perplexity = 30
	}
	if opts.Theta == 0 {
		opts.Theta = 0.8
	}
	if opts.Iterations == 0 {
		opts.Iterations = 1000
	}
	if opts.WarmIterations == 0 {
		opts.WarmIterations = 30
	}
	if opts.QualitySample == 0 {
		opts.QualitySample = 2000
	}
	if opts.Neighbors == 0 {
		opts.Neighbors = 15
	}
	if opts.MinDist == 0 {
		opts.MinDist = 0.1
	}
	if opts.WarmUMAPEpochs == 0 {
		opts.WarmUMAPEpochs = 30
	}
	if err := checkMethod(opts.Method); err != nil {
		return nil, err
	}
	if err := checkDims(opts.Dims); err != nil {
		return nil, err
	}
	switch {
	case !(opts.Perplexity > 0) || math.IsInf(opts.Perplexity, 0):
		return nil, fmt.Errorf("projection: perplexity %v: %w", opts.Perplexity, ErrPerplexity)
	case !(opts.Theta > 0) || math.IsInf(opts.Theta, 0):
		return nil, fmt.Errorf("projection: live theta %v, want > 0: %w", opts.Theta, ErrOption)
	case opts.Iterations < 0 || opts.WarmIterations < 0:
		return nil, fmt.Errorf("projection: iterations %d, warm iterations %d: %w", opts.Iterations, opts.WarmIterations, ErrOption)
	case opts.LearningRate < 0 || math.IsNaN(opts.LearningRate):
		return nil, fmt.Errorf("projection: learning rate %v: %w", opts.LearningRate, ErrOption)
	case opts.UMAPEpochs < 0 || opts.WarmUMAPEpochs < 0:
		return nil, fmt.Errorf("projection: UMAP epochs %d, warm epochs %d: %w", opts.UMAPEpochs, opts.WarmUMAPEpochs, ErrOption)
	}
	if err := (&UMAPOptions{Neighbors: opts.Neighbors, MinDist: opts.MinDist, Epochs: max(opts.UMAPEpochs, opts.WarmUMAPEpochs)}).fill(1 << 20); err != nil {
		return nil, err
	}
	return &Live{opts: opts, method: opts.Method}, nil
}

func checkMethod(m Method) error {
	if m != MethodPCA && m != MethodTSNE && m != MethodUMAP {
		return fmt.Errorf("projection: method %q, want pca, tsne or umap: %w", m, ErrOption)
	}
	return nil
}

// SetMethod switches the method from the next frame on.
func (l *Live) SetMethod(m Method) error {
	if err := checkMethod(m); err != nil {
		return err
	}
	l.methodMu.Lock()
	l.method = m
	l.methodMu.Unlock()
	return nil
}

// methodStart marks a previous layout given by StartFrom rather than
// projected: t-SNE starts from it as from a PCA frame, shrunk, with early
// exaggeration and its full length.
const methodStart Method = "start"

// StartFrom makes the next frame of n points start from layout (n×Dims),
// as if it were the previous frame: t-SNE is initialised from it (a cold
// frame from that start) and the frame rotated onto it, and a PCA frame is
// rotated onto it. Comparing two runs, the second's projection started from
// the first's layout puts the same classes in the same places, so what
// differs is the runs', not the projector's. The frames after it continue
// from the one before, as usual.
func (l *Live) StartFrom(layout []float32, n int) error {
	if err := checkMatrix("start layout", layout, n, l.opts.Dims); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prev = append(l.prev[:0], layout...)
	l.prevN, l.prevMethod = n, methodStart
	return nil
}

// Method returns the method the next frame will use.
func (l *Live) Method() Method {
	l.methodMu.Lock()
	defer l.methodMu.Unlock()
	return l.method
}

// Next projects the next epoch's embeddings x (n×d) and returns its frame.
// When n differs from the previous frame's, the frame starts cold. t-SNE
// needs n ≥ 4. Cancelling ctx abandons the frame with ctx's error and
// leaves the state as it was.
func (l *Live) Next(ctx context.Context, x []float32, n, d int) (Frame, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := time.Now()
	if err := checkMatrix("embeddings", x, n, d); err != nil {
		return Frame{}, err
	}
	method := l.Method()
	dims := l.opts.Dims
	follows := l.prev != nil && l.prevN == n
	f := Frame{Dims: dims, Method: method}
	pl := newPool(l.opts.Threads)
	defer pl.close()
	var keep *affinities
	var perp float64
	switch method {
	case MethodPCA:
		res, err := PCA(x, n, d, dims, PCAOptions{Seed: l.opts.Seed})
		if err != nil {
			return Frame{}, err
		}
		f.Coords, f.ExplainedVarianceRatio = res.Coords, res.ExplainedVarianceRatio
		if follows {
			if err := Procrustes(l.prev, f.Coords, n, dims); err != nil {
				return Frame{}, err
			}
			f.Warm = true
		}
	case MethodTSNE:
		if n < 4 {
			return Frame{}, fmt.Errorf("projection: t-SNE needs at least 4 points, got %d: %w", n, ErrTooFewPoints)
		}
		opts := TSNEOptions{
			Dims:         dims,
			Perplexity:   min(l.opts.Perplexity, float64(n-1)/3),
			Iterations:   l.opts.Iterations,
			Theta:        l.opts.Theta,
			Seed:         l.opts.Seed,
			LearningRate: l.opts.LearningRate,
			Threads:      l.opts.Threads,
		}
		warm := follows && l.prevMethod == MethodTSNE
		if warm {
			opts.Iterations = l.opts.WarmIterations
			opts.ExaggerationIterations = -1
			opts.InitCoords = l.prev
		} else if follows {
			// From PCA: start from its layout, shrunk as a PCA start is
			// (unless it has no spread: then the usual start).
			opts.InitCoords = shrunk(l.prev, n, dims)
		}
		if err := opts.fill(n); err != nil {
			return Frame{}, err
		}
		var prevAff *affinities
		if warm && l.aff != nil && l.perplexity == opts.Perplexity {
			prevAff = l.aff
		}
		if l.aff != nil && l.aff.dense == nil {
			// Of the kept affinities only the precisions and the neighbour
			// graph seed this frame: their P and working buffers become
			// the new affinities', so one P, not two, is held between
			// frames (for 12,000 points, about 30 MB less).
			if l.spare == nil {
				l.spare = new(affinities)
			}
			if l.aff.sparse != nil {
				l.spare.sparse, l.aff.sparse = l.aff.sparse, nil
			}
			if l.aff.buf != nil {
				l.spare.buf, l.aff.buf = l.aff.buf, nil
			}
		}
		aff := computeAffinitiesInto(pl, x, n, d, opts.Perplexity, false, prevAff, l.spare)
		l.spare = aff // until the frame succeeds and it becomes l.aff
		var ybuf []float64
		if l.opt != nil {
			ybuf = l.opt.y
		}
		y, err := initialLayoutInto(pl, x, n, d, &opts, ybuf)
		if err != nil {
			return Frame{}, err
		}
		o := reuseOptimizer(l.opt, pl, aff, y, dims, opts.Theta)
		l.opt = o
		kl, err := o.run(ctx, opts.Iterations, opts.ExaggerationIterations, opts.EarlyExaggeration, opts.LearningRate, nil)
		if err != nil {
			return Frame{}, err
		}
		f.Coords, f.KL, f.Iterations, f.Warm = toFloat32(o.y), kl, opts.Iterations, warm
		if follows && !warm {
			if err := Procrustes(l.prev, f.Coords, n, dims); err != nil {
				return Frame{}, err
			}
		}
		keep, perp = aff, opts.Perplexity
	case MethodUMAP:
		if n < dims+2 {
			return Frame{}, fmt.Errorf("projection: UMAP needs at least %d points in %dD, got %d: %w", dims+2, dims, n, ErrTooFewPoints)
		}
		opts := UMAPOptions{Dims: dims, Neighbors: l.opts.Neighbors, MinDist: l.opts.MinDist,
			Epochs: l.opts.UMAPEpochs, Seed: l.opts.Seed, Threads: l.opts.Threads}
		warm := follows && l.prevMethod == MethodUMAP
		prevNB := l.umapNB
		if warm {
			opts.Epochs, opts.LearningRate, opts.InitCoords = l.opts.WarmUMAPEpochs, warmUMAPRate, l.prev
		} else if follows {
			// From another method: start from its layout, scaled as a
			// spectral start is.
			opts.InitCoords = l.prev
		}
		if err := opts.fill(n); err != nil {
			return Frame{}, err
		}
		res, nb, err := umapLayout(ctx, pl, x, n, d, opts, !warm, prevNB)
		if err != nil {
			return Frame{}, err
		}
		f.Coords, f.Iterations, f.Warm = res.Coords, res.Epochs, warm
		if follows && !warm {
			if err := Procrustes(l.prev, f.Coords, n, dims); err != nil {
				return Frame{}, err
			}
		}
		l.umapNB = nb
	}
	if method != MethodUMAP {
		l.umapNB = nil
	}
	l.scoreFrame(pl, &f, x, n, d)
	l.prev = append(l.prev[:0], f.Coords...)
	if keep != nil || l.spare == nil {
		l.spare = l.aff
	}
	l.prevN, l.prevMethod, l.aff, l.perplexity = n, method, keep, perp
	f.Seconds = time.Since(start).Seconds()
	return f, nil
}

// Trim releases what l keeps between frames only to make the next one
// faster: the previous frame's affinities, the optimiser's buffers and the
// quality figures' scratch (for 12,000 points, about 100 MB). The layout
// stays, so the next frame still continues from the last picture; it only
// calibrates its affinities afresh. A run that has nothing more to project
// trims its projector rather than hold that memory while it is watched.
func (l *Live) Trim() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.aff, l.spare, l.opt, l.umapNB = nil, nil, nil, nil
	l.quality = scoreBuffers{}
}

// shrunk returns y scaled so its first coordinate has standard deviation
// 1e-4, the scale t-SNE starts from, or nil when that coordinate has no
// spread.
func shrunk(y []float32, n, dims int) []float32 {
	var m, s float64
	for i := range n {
		m += float64(y[i*dims])
	}
	m /= float64(n)
	for i := range n {
		v := float64(y[i*dims]) - m
		s += v * v
	}
	sd := math.Sqrt(s / float64(n))
	if !(sd > 0) {
		return nil
	}
	out := make([]float32, len(y))
	for i, v := range y {
		out[i] = float32(float64(v) / sd * 1e-4)
	}
	return out
}

// scoreFrame fills in the frame's quality figures.
func (l *Live) scoreFrame(pl *pool, f *Frame, x []float32, n, d int) {
	m := min(n, l.opts.QualitySample)
	if l.opts.QualitySample < 0 || 2*m-3*qualityK-1 <= 0 || m <= qualityK {
		return
	}
	dims := f.Dims
	qx, qy := x, f.Coords
	if m < n {
		if len(l.sample) != m || l.prevN != n {
			r := rand.New(rand.NewPCG(l.opts.Seed, 0x9a11))
			l.sample = r.Perm(n)[:m]
			slices.Sort(l.sample)
		}
		b := &l.quality
		qx, qy = b.sampleX[:0], b.sampleY[:0]
		for _, i := range l.sample {
			qx = append(qx, x[i*d:(i+1)*d]...)
			qy = append(qy, f.Coords[i*dims:(i+1)*dims]...)
		}
		b.sampleX, b.sampleY = qx, qy
	}
	f.Trustworthiness, f.KNNPreservation = neighbourhoodScoresIn(pl, qx, m, d, qy, dims, qualityK, &l.quality)
	f.QualityPoints = m
}
