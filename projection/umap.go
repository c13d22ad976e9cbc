package projection

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// MethodUMAP is Uniform Manifold Approximation and Projection (McInnes,
// Healy & Melville 2018), as umap-learn computes it.
const MethodUMAP Method = "umap"

// UMAPOptions configures UMAP. Zero fields take the defaults given, which
// are umap-learn's.
type UMAPOptions struct {
	// Dims is 2 or 3. Default 2.
	Dims int
	// Neighbors is n_neighbors: the size of each point's neighbourhood,
	// the point itself included, as umap-learn counts. Default 15; it is
	// lowered to the number of points for smaller inputs.
	Neighbors int
	// MinDist and Spread shape the low-dimensional similarity
	// 1/(1 + a·d^(2b)), a and b fitted to them as umap-learn does (FitAB).
	// Defaults 0.1 and 1.
	MinDist, Spread float64
	// Epochs is the length of the optimisation; 0 means umap-learn's: 500
	// for up to 10,000 points, else 200.
	Epochs int
	// NegativeRate is how many negative samples follow each positive one.
	// Default 5.
	NegativeRate int
	// LearningRate is the initial step, decaying linearly to 0. Default 1.
	LearningRate float64
	// InitCoords, when set (n×Dims), is the starting layout instead of the
	// spectral one: a warm start.
	InitCoords []float32
	// Seed seeds the initialisation's and the negative samples' streams:
	// the same seed gives the same layout, whatever Threads.
	Seed uint64
	// Threads is how many goroutines to use. Default GOMAXPROCS.
	Threads int
}

// UMAPResult is a UMAP layout.
type UMAPResult struct {
	Coords []float32 // n×Dims
	Dims   int
	A, B   float64 // the fitted curve's parameters
	Epochs int
	// Init says where the layout started: "spectral", "pca" (the
	// neighbour graph is disconnected, so it has no spectral layout) or
	// "given" (InitCoords).
	Init string
}

func (o *UMAPOptions) fill(n int) error {
	if o.Dims == 0 {
		o.Dims = 2
	}
	if o.Neighbors == 0 {
		o.Neighbors = 15
	}
	if o.MinDist == 0 {
		o.MinDist = 0.1
	}
	if o.Spread == 0 {
		o.Spread = 1
	}
	if o.NegativeRate == 0 {
		o.NegativeRate = 5
	}
	if o.LearningRate == 0 {
		o.LearningRate = 1
	}
	if o.Epochs == 0 {
		o.Epochs = 500
		if n > 10_000 {
			o.Epochs = 200
		}
	}
	if err := checkDims(o.Dims); err != nil {
		return err
	}
	switch {
	case o.Neighbors < 2:
		return fmt.Errorf("projection: UMAP neighbours %d, want at least 2: %w", o.Neighbors, ErrOption)
	case !(o.Spread > 0) || math.IsInf(o.Spread, 0) || !(o.MinDist > 0) || o.MinDist > o.Spread:
		return fmt.Errorf("projection: UMAP min_dist %v and spread %v, want 0 < min_dist ≤ spread: %w", o.MinDist, o.Spread, ErrOption)
	case o.Epochs < 1 || o.Epochs > 100_000:
		return fmt.Errorf("projection: UMAP epochs %d, want 1 to 100000: %w", o.Epochs, ErrOption)
	case o.NegativeRate < 0 || o.NegativeRate > 1000:
		return fmt.Errorf("projection: UMAP negative sample rate %d: %w", o.NegativeRate, ErrOption)
	case !(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0):
		return fmt.Errorf("projection: UMAP learning rate %v: %w", o.LearningRate, ErrOption)
	}
	o.Neighbors = min(o.Neighbors, n)
	return nil
}

// UMAP lays the n points x (n×d) out in opts.Dims dimensions:
//  1. the fuzzy simplicial set of the exact kNN graph (n_neighbors,
//     local connectivity 1: each point's membership strengths
//     exp(−(d − ρ)/σ), σ set so they sum to log2 k; then the fuzzy union
//     A + Aᵀ − A∘Aᵀ);
//  2. a spectral initialisation (the normalised Laplacian's smallest
//     non-trivial eigenvectors), or PCA of x when the graph is
//     disconnected, or InitCoords;
//  3. SGD with negative sampling on the cross-entropy, each edge sampled
//     in proportion to its weight, the step decaying linearly.
//
// The optimisation runs on every core and is deterministic for a seed:
// the points are shared out, each moving only itself (by both its edges'
// pulls, as umap-learn moves both ends of an edge), reading the others'
// positions as the epoch began, and drawing its negative samples from a
// stream of its own. It returns ErrTooFewPoints for fewer than Dims+2
// points, ErrNotFinite for NaN or infinite input, ErrOption for options
// out of range, and ctx's error when cancelled.
func UMAP(ctx context.Context, x []float32, n, d int, opts UMAPOptions) (*UMAPResult, error) {
	if err := checkMatrix("input", x, n, d); err != nil {
		return nil, err
	}
	if err := opts.fill(n); err != nil {
		return nil, err
	}
	dims := opts.Dims
	if n < dims+2 {
		return nil, fmt.Errorf("projection: UMAP needs at least %d points in %dD, got %d: %w", dims+2, dims, n, ErrTooFewPoints)
	}
	if opts.InitCoords != nil {
		if err := checkMatrix("initial layout", opts.InitCoords, n, dims); err != nil {
			return nil, err
		}
	}
	pl := newPool(opts.Threads)
	defer pl.close()
	res, _, err := umapLayout(ctx, pl, x, n, d, opts, false, nil)
	return res, err
}

// umapLayout is UMAP on checked input and filled options. rescale scales
// InitCoords as a spectral start is (a layout of another method, whose
// scale is not UMAP's); prev, the neighbour graph of the same points'
// previous frame, warm-starts the kNN search. It returns the neighbour
// graph too, for the next frame's.
func umapLayout(ctx context.Context, pl *pool, x []float32, n, d int, opts UMAPOptions, rescale bool, prev *neighbours) (*UMAPResult, *neighbours, error) {
	dims := opts.Dims
	a, b, err := FitAB(opts.Spread, opts.MinDist)
	if err != nil {
		return nil, nil, err
	}
	g, nb := fuzzyGraph(pl, x, n, d, opts.Neighbors, prev)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	res := &UMAPResult{Dims: dims, A: a, B: b, Epochs: opts.Epochs}
	var y []float64
	switch {
	case opts.InitCoords != nil:
		y = make([]float64, n*dims)
		for i, v := range opts.InitCoords {
			y[i] = float64(v)
		}
		res.Init = "given"
		if rescale {
			scaleInit(y, n, dims, opts.Seed)
		}
	case g.connected():
		y = g.spectral(pl, dims, opts.Seed)
		res.Init = "spectral"
	default:
		p, err := PCA(x, n, d, dims, PCAOptions{Seed: opts.Seed})
		if err != nil {
			return nil, nil, err
		}
		y = make([]float64, n*dims)
		for i, v := range p.Coords {
			y[i] = float64(v)
		}
		res.Init = "pca"
	}
	if res.Init != "given" {
		scaleInit(y, n, dims, opts.Seed)
	}
	if err := optimizeUMAP(ctx, pl, g, y, n, dims, a, b, opts); err != nil {
		return nil, nil, err
	}
	res.Coords = toFloat32(y)
	return res, nb, nil
}

// umapGraph is the symmetric fuzzy simplicial set: per point, its edges
// (CSR, both directions of every pair) and their weights.
type umapGraph struct {
	n   int
	row []int32
	col []int32
	w   []float64
}

// fuzzyGraph builds the fuzzy union of the points' membership strengths
// (umap-learn's smooth_knn_dist and compute_membership_strengths, local
// connectivity 1, bandwidth 1).
// prev, the previous frame's neighbour graph of the same points, warm-starts
// the kNN search; the graph found is returned too.
func fuzzyGraph(pl *pool, x []float32, n, d, neighbors int, prev *neighbours) (*umapGraph, *neighbours) {
	k := neighbors - 1 // others; umap-learn's k counts the point itself
	nb := exactKNN(pl, x, n, d, k, prev)
	target := math.Log2(float64(neighbors))
	strength := make([]float64, n*k)
	var meanAll float64
	for _, v := range nb.dist {
		meanAll += math.Sqrt(v)
	}
	meanAll /= float64(max(len(nb.dist), 1))
	pl.run(chunksOf(n, 64), func(c int) {
		lo, hi := span(c, 64, n)
		dist := make([]float64, k)
		order := make([]int, k)
		for i := lo; i < hi; i++ {
			for j := range k {
				dist[j] = math.Sqrt(nb.dist[i*k+j])
				order[j] = j
			}
			slices.SortFunc(order, func(p, q int) int {
				if dist[p] != dist[q] {
					if dist[p] < dist[q] {
						return -1
					}
					return 1
				}
				return int(nb.idx[i*k+p] - nb.idx[i*k+q])
			})
			var rho, mean float64
			for _, j := range order {
				if dist[j] > 0 && rho == 0 {
					rho = dist[j]
				}
				mean += dist[j]
			}
			mean /= float64(k + 1) // umap-learn's mean includes the point's own 0
			sigma := smoothSigma(dist, rho, target)
			if rho > 0 {
				sigma = max(sigma, 1e-3*mean)
			} else {
				sigma = max(sigma, 1e-3*meanAll)
			}
			for j := range k {
				v := 1.0
				if t := dist[j] - rho; t > 0 {
					v = math.Exp(-t / sigma)
				}
				strength[i*k+j] = v
			}
		}
	})

	// The fuzzy union w = a + aᵀ − a∘aᵀ over both directions of each pair.
	type entry struct {
		key  int64
		v    float64
		back bool // the entry is a transposed one
	}
	es := make([]entry, 0, 2*n*k)
	for i := range n {
		for j := range k {
			t := int64(nb.idx[i*k+j])
			v := strength[i*k+j]
			es = append(es, entry{int64(i)*int64(n) + t, v, false}, entry{t*int64(n) + int64(i), v, true})
		}
	}
	slices.SortFunc(es, func(p, q entry) int {
		if p.key != q.key {
			if p.key < q.key {
				return -1
			}
			return 1
		}
		if p.back == q.back {
			return 0
		}
		if !p.back {
			return -1
		}
		return 1
	})
	g := &umapGraph{n: n, row: make([]int32, n+1)}
	for s := 0; s < len(es); {
		e := s
		var direct, back float64
		for e < len(es) && es[e].key == es[s].key {
			if es[e].back {
				back = es[e].v
			} else {
				direct = es[e].v
			}
			e++
		}
		w := direct + back - direct*back
		if w > 0 {
			i := int(es[s].key / int64(n))
			g.col = append(g.col, int32(es[s].key%int64(n)))
			g.w = append(g.w, w)
			g.row[i+1]++
		}
		s = e
	}
	for i := range n {
		g.row[i+1] += g.row[i]
	}
	return g, nb
}

// smoothSigma finds σ with Σ_j exp(−max(0, d_j − ρ)/σ) = target by
// bisection, as umap-learn's smooth_knn_dist (64 steps, tolerance 1e-5).
func smoothSigma(dist []float64, rho, target float64) float64 {
	lo, hi, mid := 0.0, math.Inf(1), 1.0
	for range 64 {
		var psum float64
		for _, v := range dist {
			if t := v - rho; t > 0 {
				psum += math.Exp(-t / mid)
			} else {
				psum++
			}
		}
		if math.Abs(psum-target) < 1e-5 {
			break
		}
		if psum > target {
			hi = mid
			mid = (lo + hi) / 2
		} else {
			lo = mid
			if math.IsInf(hi, 1) {
				mid *= 2
			} else {
				mid = (lo + hi) / 2
			}
		}
	}
	return mid
}

// connected reports whether the graph is one component.
func (g *umapGraph) connected() bool {
	seen := make([]bool, g.n)
	stack := []int32{0}
	seen[0] = true
	count := 1
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range g.col[g.row[i]:g.row[i+1]] {
			if !seen[j] {
				seen[j] = true
				count++
				stack = append(stack, j)
			}
		}
	}
	return count == g.n
}

// spectralIters is how many subspace iterations the spectral layout takes:
// enough to settle the few leading directions a layout needs (they only
// start the optimisation), not to converge every eigenvector.
const spectralIters = 150

// spectral returns the spectral layout: the dims eigenvectors of the
// normalised adjacency S = D^−½ W D^−½ after the trivial one (the
// normalised Laplacian's smallest non-trivial ones, as umap-learn's
// spectral_layout), by subspace iteration on (S + I)/2 with a
// Rayleigh–Ritz step, the graph's products shared between the cores.
func (g *umapGraph) spectral(pl *pool, dims int, seed uint64) []float64 {
	n := g.n
	inv := make([]float64, n)
	trivial := make([]float64, n) // D^½·1, normalised
	var total float64
	for i := range n {
		var deg float64
		for _, w := range g.w[g.row[i]:g.row[i+1]] {
			deg += w
		}
		inv[i] = 1 / math.Sqrt(deg)
		trivial[i] = math.Sqrt(deg)
		total += deg
	}
	for i := range trivial {
		trivial[i] /= math.Sqrt(total)
	}
	sw := make([]float64, len(g.w)) // S's entries
	for i := range n {
		for e := g.row[i]; e < g.row[i+1]; e++ {
			sw[e] = g.w[e] * inv[i] * inv[g.col[e]]
		}
	}
	m := min(dims+6, n-1) // a few more vectors than wanted converge faster
	vs, ws := make([][]float64, m), make([][]float64, m)
	rng := newSplitMix(seed ^ 0x5eed5eed)
	for c := range m {
		vs[c], ws[c] = make([]float64, n), make([]float64, n)
		for i := range vs[c] {
			vs[c][i] = rng.float() - 0.5
		}
	}
	apply := func(dst, src [][]float64) {
		pl.run(chunksOf(n, 256), func(ch int) {
			lo, hi := span(ch, 256, n)
			for c := range m {
				s, d := src[c], dst[c]
				for i := lo; i < hi; i++ {
					var acc float64
					for e := g.row[i]; e < g.row[i+1]; e++ {
						acc += sw[e] * s[g.col[e]]
					}
					d[i] = 0.5 * (s[i] + acc)
				}
			}
		})
	}
	dot := func(a, b []float64) float64 {
		var s float64
		for i, v := range a {
			s += v * b[i]
		}
		return s
	}
	axpy := func(y []float64, t float64, x []float64) {
		for i, v := range x {
			y[i] += t * v
		}
	}
	orth := func(a [][]float64) {
		for c, col := range a {
			axpy(col, -dot(col, trivial), trivial)
			for _, q := range a[:c] {
				axpy(col, -dot(col, q), q)
			}
			if l := math.Sqrt(dot(col, col)); l > 0 {
				for i := range col {
					col[i] /= l
				}
			}
		}
	}
	orth(vs)
	for range spectralIters {
		apply(ws, vs)
		orth(ws)
		vs, ws = ws, vs
	}
	// Rayleigh–Ritz: the best dims directions within the subspace.
	apply(ws, vs)
	sym := mat.NewSymDense(m, nil)
	for i := range m {
		for j := i; j < m; j++ {
			sym.SetSym(i, j, (dot(vs[i], ws[j])+dot(vs[j], ws[i]))/2)
		}
	}
	var eig mat.EigenSym
	out := make([]float64, n*dims)
	if !eig.Factorize(sym, true) {
		for i := range n {
			for k := range dims {
				out[i*dims+k] = vs[k][i]
			}
		}
		return out
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	vals := eig.Values(nil)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(p, q int) int { return cmpDesc(vals[p], vals[q]) })
	for k := range dims {
		c := order[k]
		for j := range m {
			if t := vecs.At(j, c); t != 0 {
				for i := range n {
					out[i*dims+k] += t * vs[j][i]
				}
			}
		}
	}
	return out
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// scaleInit scales a spectral or PCA start as umap-learn does: to a
// largest coordinate of 10, with a little noise, then each dimension to
// [0, 10].
func scaleInit(y []float64, n, dims int, seed uint64) {
	var top float64
	for _, v := range y {
		top = max(top, math.Abs(v))
	}
	rng := newSplitMix(seed ^ 0x1417)
	for i := range y {
		if top > 0 {
			y[i] *= 10 / top
		}
		y[i] += 1e-4 * rng.normal()
	}
	for k := range dims {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range n {
			lo, hi = min(lo, y[i*dims+k]), max(hi, y[i*dims+k])
		}
		span := hi - lo
		for i := range n {
			if span > 0 {
				y[i*dims+k] = 10 * (y[i*dims+k] - lo) / span
			}
		}
	}
}

// optimizeUMAP runs the SGD epochs (umap-learn's optimize_layout_euclidean).
func optimizeUMAP(ctx context.Context, pl *pool, g *umapGraph, y []float64, n, dims int, a, b float64, opts UMAPOptions) error {
	epochs := opts.Epochs
	wmax := 0.0
	for _, w := range g.w {
		wmax = max(wmax, w)
	}
	// Edges too weak to be sampled once in the run are dropped, and each
	// other edge is sampled every wmax/w epochs; due is the epoch an edge
	// is next sampled in (its clock's next, rounded up), a small array to
	// scan.
	rate := float64(opts.NegativeRate)
	clocks := make([]edgeClock, len(g.w))
	due := make([]int32, len(g.w))
	for e, w := range g.w {
		due[e] = math.MaxInt32
		if w >= wmax/float64(epochs) {
			every := wmax / w
			clocks[e] = edgeClock{every: every, next: every, nextNeg: every / rate}
			due[e] = int32(math.Ceil(every))
		}
	}
	snap := make([]float64, len(y))
	const chunk = 256
	for epoch := range epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		alpha := opts.LearningRate * (1 - float64(epoch)/float64(epochs))
		copy(snap, y)
		pl.run(chunksOf(n, chunk), func(c int) {
			lo, hi := span(c, chunk, n)
			s := samplesPool.Get().(*umapSamples)
			defer samplesPool.Put(s)
			// The chunk's points go round umapLanes lanes, and each round
			// takes one sampled edge of every lane's point: the edges'
			// powers, taken together, then overlap in the core, where one
			// edge's alone would wait on the last.
			ls := &s.lanes
			active := 0
			for l := range ls {
				ls[l] = umapLane{i: -1, next: lo + l}
				if ls[l].take(g, y, dims, hi) {
					active++
				}
			}
			for active > 0 {
				s.reset()
				for l := range ls {
					ln := &ls[l]
					ln.cnt = 0
					for ln.i >= 0 {
						for ln.e < ln.end && due[ln.e] > int32(epoch) {
							ln.e++
						}
						if ln.e < ln.end {
							break
						}
						copy(y[ln.i*dims:], ln.cur[:dims])
						if !ln.take(g, y, dims, hi) {
							active--
						}
					}
					if ln.i < 0 {
						continue
					}
					e := ln.e
					ln.e++
					ck := &clocks[e]
					ck.next += ck.every
					due[e] = int32(math.Ceil(ck.next))
					everyNeg := ck.every / rate
					negs := int((float64(epoch) - ck.nextNeg) / everyNeg)
					ck.nextNeg += float64(negs) * everyNeg
					// The edge's pull and its negative samples' pushes are
					// measured from where the point is, their steps summed
					// (umap-learn moves the point after each).
					ln.start = s.n
					s.grow(1 + negs)
					cur := ln.cur[:dims]
					s.add(cur, snap[int(g.col[e])*dims:], dims)
					rng := splitMix{opts.Seed ^ uint64(e)*0x9e3779b97f4a7c15 ^ uint64(epoch)<<40}
					for range negs {
						k := int(rng.below(uint64(n)))
						if k != ln.i {
							s.add(cur, snap[k*dims:], dims)
						}
					}
					ln.cnt = s.n - ln.start
				}
				s.pow(b)
				for l := range ls {
					ln := &ls[l]
					if ln.cnt == 0 {
						continue
					}
					var step [3]float64
					j := ln.start
					if d2 := s.d2[j]; d2 > 0 {
						p := s.p[j]
						coeff := -2 * a * b * p / (d2 * (a*p + 1))
						for k := range dims {
							// twice: both directions of the edge pull
							step[k] += 2 * clip4(coeff*s.diff[j][k])
						}
					}
					for j := ln.start + 1; j < ln.start+ln.cnt; j++ {
						d2 := s.d2[j]
						if d2 == 0 {
							for k := range dims {
								step[k] += 4
							}
							continue
						}
						coeff := 2 * b / ((0.001 + d2) * (a*s.p[j] + 1))
						for k := range dims {
							step[k] += clip4(coeff * s.diff[j][k])
						}
					}
					for k := range dims {
						ln.cur[k] += step[k] * alpha
					}
				}
			}
		})
	}
	return nil
}

// edgeClock is when an edge is next sampled (umap-learn's
// epoch_of_next_sample and epoch_of_next_negative_sample) and how often.
type edgeClock struct{ every, next, nextNeg float64 }

// umapLanes is how many points optimizeUMAP moves together.
const umapLanes = 4

// umapLane is one of them: point i (-1 once the lane's points are done),
// at edge e of its edges up to end, where it is, and the batch's samples
// of its current edge; next is the lane's next point.
type umapLane struct {
	i, next    int
	e, end     int32
	cur        [3]float64
	start, cnt int
}

// take moves the lane on to its next point below hi, reporting whether it
// had one.
func (ln *umapLane) take(g *umapGraph, y []float64, dims, hi int) bool {
	if ln.next >= hi {
		ln.i = -1
		return false
	}
	ln.i = ln.next
	ln.next += umapLanes
	ln.e, ln.end = g.row[ln.i], g.row[ln.i+1]
	copy(ln.cur[:dims], y[ln.i*dims:])
	return true
}

// umapSamples are the samples of a round of edges as optimizeUMAP gathers
// them: per lane, its edge's (the pull) then the edge's negative samples
// (the pushes), their offsets from the point, their squared lengths and,
// after pow, those to the power b; the first n are the round's.
type umapSamples struct {
	lanes [umapLanes]umapLane
	n     int
	d2, p []float64
	diff  [][3]float64
}

var samplesPool = sync.Pool{New: func() any { return new(umapSamples) }}

func (s *umapSamples) reset() { s.n = 0 }

// grow makes room for m more samples.
func (s *umapSamples) grow(m int) {
	if s.n+m > len(s.d2) {
		size := max(2*len(s.d2), s.n+m, 64)
		s.d2 = slices.Grow(s.d2[:s.n], size-s.n)[:size]
		s.p = make([]float64, size)
		s.diff = slices.Grow(s.diff[:s.n], size-s.n)[:size]
	}
}

func (s *umapSamples) add(cur, other []float64, dims int) {
	v := &s.diff[s.n]
	d2 := 0.0
	for k := range dims {
		v[k] = cur[k] - other[k]
		d2 += v[k] * v[k]
	}
	s.d2[s.n] = d2
	s.n++
}

func (s *umapSamples) pow(b float64) { powBatch(s.p[:s.n], s.d2[:s.n], b) }

// clip4 is umap-learn's clip, by branches the predictor learns (math's
// min and max, minding NaN and signed zeros, cost more).
func clip4(v float64) float64 {
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}

// powB is x^b for x > 0 (the SGD's only transcendental, once per sample),
// as 2^(b·log2 x) through two 256-entry tables and short series, with no
// division: about a third of math.Pow's time (BenchmarkPowB), to a relative
// 1e-12. The SGD takes its powers in batches (powBatch), a quarter of this
// one's time each in AVX2; powB is the portable path and the odd cases'.
func powB(x, b float64) float64 {
	bits := math.Float64bits(x)
	ex := bits >> 52 & 0x7ff
	if ex == 0 || ex == 0x7ff { // subnormal, Inf or NaN: rare
		return math.Pow(x, b)
	}
	// log2 x = e + log2(m_j) + log2(1 + r): m = m_j·(1 + r), m_j the
	// mantissa's leading 8 bits, 0 ≤ r < 1/256.
	j := bits >> 44 & 0xff
	m := math.Float64frombits(bits&(1<<52-1) | 1023<<52)
	r := m*powTables.inv[j] - 1
	l := r * (1 - r*(0.5-r*(1.0/3-r*0.25)))
	y := b * (float64(int64(ex)-1023) + powTables.log2[j] + l*math.Log2E)
	if y < -1020 {
		return 0
	}
	if y > 1020 {
		return math.Inf(1)
	}
	// 2^y = 2^k · 2^(i/256) · 2^g, 0 ≤ g < 1/256.
	k := float64(int64(y)) // math.Floor without SSE4.1 is a call
	if k > y {
		k--
	}
	f := (y - k) * 256
	i := int(f)
	t := (f - float64(i)) / 256 * math.Ln2
	p := 1 + t*(1+t*(0.5+t*(1.0/6+t*(1.0/24))))
	return p * powTables.exp2[i] * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// powTables are powB's: for j < 256, 1/(1 + j/256), log2(1 + j/256) and
// 2^(j/256).
var powTables = func() (t struct{ inv, log2, exp2 [256]float64 }) {
	for j := range 256 {
		m := 1 + float64(j)/256
		t.inv[j] = 1 / m
		t.log2[j] = math.Log2(m)
		t.exp2[j] = math.Exp2(float64(j) / 256)
	}
	return t
}()

// splitMix is SplitMix64: a small, fast, seedable stream, one per point
// and epoch for the negative samples so that any split of the points
// draws the same ones.
type splitMix struct{ s uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{seed} }

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below is uniform in [0, n): the high word of next()·n (Lemire's
// reduction, a multiplication where % is a division).
func (r *splitMix) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

func (r *splitMix) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *splitMix) normal() float64 {
	u := max(r.float(), 1e-300)
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// FitAB returns the a and b of the curve 1/(1 + a·x^(2b)) that best fits,
// in least squares over 300 points of [0, 3·spread], the curve that is 1
// below minDist and exp(−(x − minDist)/spread) above it: umap-learn's
// find_ab_params (there scipy's curve_fit, Levenberg–Marquardt from
// (1, 1)), here Levenberg–Marquardt from the same start.
func FitAB(spread, minDist float64) (a, b float64, err error) {
	if !(spread > 0) || !(minDist > 0) || minDist > spread || math.IsInf(spread, 0) {
		return 0, 0, fmt.Errorf("projection: UMAP min_dist %v and spread %v, want 0 < min_dist ≤ spread: %w", minDist, spread, ErrOption)
	}
	const m = 300
	xs, ys := make([]float64, m), make([]float64, m)
	for i := range m {
		x := 3 * spread * float64(i) / (m - 1)
		xs[i] = x
		ys[i] = 1
		if x >= minDist {
			ys[i] = math.Exp(-(x - minDist) / spread)
		}
	}
	cost := func(a, b float64) float64 {
		var s float64
		for i, x := range xs {
			r := 1/(1+a*math.Pow(x, 2*b)) - ys[i]
			s += r * r
		}
		return s
	}
	a, b = 1, 1
	lambda := 1e-3
	c := cost(a, b)
	for range 500 {
		// Normal equations JᵀJ δ = −Jᵀr with damping.
		var jaa, jab, jbb, ga, gb float64
		for i, x := range xs {
			if x == 0 {
				continue
			}
			p := math.Pow(x, 2*b)
			den := 1 + a*p
			r := 1/den - ys[i]
			da := -p / (den * den)
			db := -a * p * 2 * math.Log(x) / (den * den)
			jaa += da * da
			jab += da * db
			jbb += db * db
			ga += da * r
			gb += db * r
		}
		for {
			aa, bb := jaa*(1+lambda), jbb*(1+lambda)
			det := aa*bb - jab*jab
			if det == 0 {
				lambda *= 10
				if lambda > 1e12 {
					return a, b, nil
				}
				continue
			}
			dA := -(bb*ga - jab*gb) / det
			dB := -(aa*gb - jab*ga) / det
			na, nb := a+dA, b+dB
			if nc := cost(na, nb); nc < c && na > 0 && nb > 0 {
				done := math.Abs(c-nc) <= 1e-15*max(c, 1e-300) || (math.Abs(dA) < 1e-12*a && math.Abs(dB) < 1e-12*b)
				a, b, c = na, nb, nc
				lambda /= 10
				if done {
					return a, b, nil
				}
				break
			}
			lambda *= 10
			if lambda > 1e12 {
				return a, b, nil
			}
		}
	}
	return a, b, nil
}
