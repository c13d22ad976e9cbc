package projection

import (
	"context"
	"fmt"
	"math"
)

// optimizer runs t-SNE's gradient descent over a layout. Every buffer is
// allocated up front and the pool's loop bodies are method values made once,
// so an iteration allocates nothing.
type optimizer struct {
	pl      *pool
	aff     *affinities
	n, dims int
	theta2  float64
	tree    *bhTree

	y, attr, rep, update, gains []float64
	partial                     []float64 // per-chunk sums
	per                         int       // points per chunk
	leafPartial                 []float64 // per-chunk sums of the tree walk

	// Per-iteration parameters read by the loop bodies.
	exag, mom, lr, z float64

	// Attraction over the upper triangle of P: each pair once, its force
	// added to one point and subtracted from the other. Rows are cut into
	// attrSlots fixed ranges of about equal work, each with its own force
	// buffer, summed in slot order: deterministic whatever the threads.
	upper    *csr
	slotRows []int
	attrBuf  [][]float64

	forcesFn, updateFn, klFn, attrFn func(c int) // attrFn: attraction and tree walks together
}

// attrSlots is how many row ranges (and force buffers) the attraction uses.
const attrSlots = 4

func newOptimizer(pl *pool, aff *affinities, y []float64, dims int, theta float64) *optimizer {
	return reuseOptimizer(nil, pl, aff, y, dims, theta)
}

// reuseOptimizer is newOptimizer reusing old's buffers (old may be nil), so
// a warm Live frame allocates almost nothing; old must not be used
// afterwards. The state starts afresh, exactly as newOptimizer's: zero
// momentum, unit gains.
func reuseOptimizer(old *optimizer, pl *pool, aff *affinities, y []float64, dims int, theta float64) *optimizer {
	n := aff.n
	o := old
	if o == nil {
		o = new(optimizer)
	}
	tree, upper, attrBuf := o.tree, o.upper, o.attrBuf
	*o = optimizer{
		pl: pl, aff: aff, n: n, dims: dims, theta2: theta * theta,
		y: y, rep: resize(o.rep, n*dims),
		update: resize(o.update, n*dims), gains: resize(o.gains, n*dims),
		partial: o.partial, leafPartial: o.leafPartial, attr: o.attr,
		per: 128,
	}
	clear(o.update)
	for i := range o.gains {
		o.gains[i] = 1
	}
	o.partial = resize(o.partial, chunksOf(n, o.per))
	o.leafPartial = resize(o.leafPartial, chunksOf(n, leavesPerChunk))
	if aff.dense == nil {
		if tree == nil || tree.dims != dims || len(tree.perm) != n {
			tree = newBHTree(n, dims)
		}
		o.tree = tree
		o.forcesFn = o.forcesBH
		o.upper = aff.sparse.upperTriangleInto(upper)
		o.slotRows = balancedRanges(o.upper, attrSlots)
		if len(attrBuf) != attrSlots {
			attrBuf = make([][]float64, attrSlots)
		}
		for s := range attrBuf {
			attrBuf[s] = resize(attrBuf[s], n*dims)
		}
		o.attrBuf = attrBuf
		o.attrFn = o.attrOrWalk
	} else {
		o.attr = resize(o.attr, n*dims)
		o.forcesFn = o.forcesExact
	}
	o.updateFn = o.updateChunk
	o.klFn = o.klChunk
	return o
}

// run takes iters gradient steps, the first exagIters with exaggerated
// affinities and momentum 0.5, the rest with momentum 0.8, and returns the
// final KL divergence.
func (o *optimizer) run(ctx context.Context, iters, exagIters int, exag, lr float64, progress func(int, float64)) (float64, error) {
	o.lr = lr
	for it := range iters {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("projection: t-SNE stopped at iteration %d: %w", it, err)
		}
		o.exag, o.mom = 1, 0.8
		if it < exagIters {
			o.exag, o.mom = exag, 0.5
		}
		o.step()
		if progress != nil && (it+1)%50 == 0 && it+1 < iters {
			progress(it+1, o.kl())
		}
	}
	kl := o.kl()
	if progress != nil {
		progress(iters, kl)
	}
	return kl, nil
}

// leavesPerChunk is how many tree leaves one chunk of forcesBH walks.
const leavesPerChunk = 16

// forces computes attr, rep and the normalisation z for the current layout.
func (o *optimizer) forces() {
	sums := o.partial
	if o.tree != nil {
		o.tree.build(o.y, o.n)
		sums = o.leafPartial[:chunksOf(len(o.tree.groupLo), leavesPerChunk)]
	}
	if o.upper != nil {
		// One parallel loop for both: the attraction slots first (the
		// larger pieces), then the tree walks.
		o.pl.run(attrSlots+len(sums), o.attrFn)
	} else {
		o.pl.run(len(sums), o.forcesFn)
	}
	z := 0.0
	for _, s := range sums {
		z += s
	}
	o.z = max(z, math.SmallestNonzeroFloat64)
}

// step takes one gradient step.
func (o *optimizer) step() {
	o.forces()
	o.pl.run(len(o.partial), o.updateFn)
	// Keep the layout centred, as the reference implementation does.
	var mean [3]float64
	dims := o.dims
	for i := range o.n {
		for k := range dims {
			mean[k] += o.y[i*dims+k]
		}
	}
	for k := range dims {
		mean[k] /= float64(o.n)
	}
	for i := range o.n {
		for k := range dims {
			o.y[i*dims+k] -= mean[k]
		}
	}
}

// forcesBH handles the walking groups of chunk c: Barnes-Hut repulsion, one
// walk per group.
func (o *optimizer) forcesBH(c int) {
	t := o.tree
	lo, hi := span(c, leavesPerChunk, len(t.groupLo))
	dims := o.dims
	var f [3 * bhLeafCap]float64
	sum := 0.0
	for g := lo; g < hi; g++ {
		if dims == 2 {
			sum += t.repulseLeaf2(g, o.theta2, f[:])
		} else {
			sum += t.repulseLeaf3(g, o.theta2, f[:])
		}
		for s := int(t.groupLo[g]); s < int(t.groupHi[g]); s++ {
			i := int(t.perm[s])
			a := s - int(t.groupLo[g])
			copy(o.rep[dims*i:dims*(i+1)], f[dims*a:dims*(a+1)])
		}
	}
	o.leafPartial[c] = sum
}

// attrOrWalk is chunk c of the combined loop: attraction slot c, or tree
// walk chunk c−attrSlots.
func (o *optimizer) attrOrWalk(c int) {
	if c < attrSlots {
		o.attrSlot(c)
		return
	}
	o.forcesBH(c - attrSlots)
}

// attrSlot computes the attraction of the pairs in slot s's rows into that
// slot's buffer.
func (o *optimizer) attrSlot(s int) {
	buf := o.attrBuf[s]
	clear(buf)
	U, y := o.upper, o.y
	for i := o.slotRows[s]; i < o.slotRows[s+1]; i++ {
		if o.dims == 2 {
			yx, yy := y[2*i], y[2*i+1]
			var ax, ay float64
			for e := U.row[i]; e < U.row[i+1]; e++ {
				j := int(U.col[e])
				dx, dy := yx-y[2*j], yy-y[2*j+1]
				pw := U.val[e] / (1 + dx*dx + dy*dy)
				fx, fy := pw*dx, pw*dy
				ax += fx
				ay += fy
				buf[2*j] -= fx
				buf[2*j+1] -= fy
			}
			buf[2*i] += ax
			buf[2*i+1] += ay
			continue
		}
		yx, yy, yz := y[3*i], y[3*i+1], y[3*i+2]
		var ax, ay, az float64
		for e := U.row[i]; e < U.row[i+1]; e++ {
			j := int(U.col[e])
			dx, dy, dz := yx-y[3*j], yy-y[3*j+1], yz-y[3*j+2]
			pw := U.val[e] / (1 + dx*dx + dy*dy + dz*dz)
			fx, fy, fz := pw*dx, pw*dy, pw*dz
			ax += fx
			ay += fy
			az += fz
			buf[3*j] -= fx
			buf[3*j+1] -= fy
			buf[3*j+2] -= fz
		}
		buf[3*i] += ax
		buf[3*i+1] += ay
		buf[3*i+2] += az
	}
}

// attraction returns the attractive force on coordinate e.
func (o *optimizer) attraction(e int) float64 {
	if o.upper == nil {
		return o.attr[e]
	}
	a := 0.0
	for _, b := range o.attrBuf {
		a += b[e]
	}
	return a
}

// forcesExact handles the points of chunk c against every other point.
func (o *optimizer) forcesExact(c int) {
	lo, hi := span(c, o.per, o.n)
	n, dims, y, P := o.n, o.dims, o.y, o.aff.dense
	sum := 0.0
	for i := lo; i < hi; i++ {
		var a, r [3]float64
		yi := y[i*dims : (i+1)*dims]
		for j := range n {
			if j == i {
				continue
			}
			yj := y[j*dims : (j+1)*dims]
			var dv [3]float64
			d2 := 0.0
			for k := range dims {
				dv[k] = yi[k] - yj[k]
				d2 += dv[k] * dv[k]
			}
			w := 1 / (1 + d2)
			sum += w
			pw := P[i*n+j] * w
			ww := w * w
			for k := range dims {
				a[k] += pw * dv[k]
				r[k] += ww * dv[k]
			}
		}
		copy(o.attr[i*dims:(i+1)*dims], a[:dims])
		copy(o.rep[i*dims:(i+1)*dims], r[:dims])
	}
	o.partial[c] = sum
}

// updateChunk applies the gradient to the points of chunk c, with momentum
// and per-coordinate gains (Jacobs 1988) as in the reference
// implementation: a gain grows by 0.2 while its gradient keeps changing sign
// against the update and shrinks by 0.8 otherwise, never below 0.01.
func (o *optimizer) updateChunk(c int) {
	lo, hi := span(c, o.per, o.n)
	invZ, exag, mom, lr := 1/o.z, o.exag, o.mom, o.lr
	for e := lo * o.dims; e < hi*o.dims; e++ {
		g := 4 * (exag*o.attraction(e) - o.rep[e]*invZ)
		u := o.update[e]
		gain := o.gains[e]
		if u*g < 0 {
			gain += 0.2
		} else {
			gain = max(gain*0.8, 0.01)
		}
		o.gains[e] = gain
		u = mom*u - lr*gain*g
		o.update[e] = u
		o.y[e] += u
	}
}

// gradient returns the current gradient of the KL divergence (with the
// current exaggeration) without moving the layout; for tests.
func (o *optimizer) gradient() []float64 {
	o.forces()
	g := make([]float64, len(o.y))
	for e := range g {
		g[e] = 4 * (o.exag*o.attraction(e) - o.rep[e]/o.z)
	}
	return g
}

// kl returns the KL divergence of the current layout against the
// optimiser's affinities.
func (o *optimizer) kl() float64 {
	o.forces()
	o.pl.run(len(o.partial), o.klFn)
	s := 0.0
	for _, v := range o.partial {
		s += v
	}
	return s
}

// klChunk sums p·log(p/q) over the affinities of the points of chunk c.
func (o *optimizer) klChunk(c int) {
	lo, hi := span(c, o.per, o.n)
	logZ := math.Log(o.z)
	dims, y := o.dims, o.y
	sum := 0.0
	term := func(p, d2 float64) float64 {
		// log(p/q) = log p + log(1+d²) + log Z
		return p * (math.Log(p) + math.Log1p(d2) + logZ)
	}
	for i := lo; i < hi; i++ {
		yi := y[i*dims : (i+1)*dims]
		if P := o.aff.sparse; P != nil {
			for e := P.row[i]; e < P.row[i+1]; e++ {
				if p := P.val[e]; p > 0 {
					sum += term(p, sqDistF64(yi, y[int(P.col[e])*dims:]))
				}
			}
			continue
		}
		for j := range o.n {
			if p := o.aff.dense[i*o.n+j]; p > 0 && j != i {
				sum += term(p, sqDistF64(yi, y[j*dims:]))
			}
		}
	}
	o.partial[c] = sum
}

// sqDistF64 is the squared distance between a and the first len(a) values of
// b.
func sqDistF64(a, b []float64) float64 {
	s := 0.0
	b = b[:len(a)]
	for k, v := range a {
		d := v - b[k]
		s += d * d
	}
	return s
}
