package projection

import (
	"math"
	"math/bits"
	"slices"
)

// neighbours is a k-nearest-neighbour graph: for point i, idx[i*k:(i+1)*k]
// are its k nearest other points, in no order, and dist the matching
// squared Euclidean distances.
type neighbours struct {
	n, k int
	idx  []int32
	dist []float64
}

const (
	// panelWidth is how many candidates the distance kernel takes at once.
	panelWidth = 16
	// knnRows is how many query rows one chunk of exactKNN handles.
	knnRows = 32
	// knnPanels is how many panels are swept per block, so a block stays in
	// the core's cache while a chunk's queries pass over it.
	knnPanels = 16
)

// forceGoKernel makes knnKernel use the portable kernel; tests set it to
// compare the two.
var forceGoKernel = false

// packed is a point set prepared for the distance kernel: rows centred on
// their mean (so ‖a‖²+‖b‖²−2a·b stays accurate in float32), packed in panels
// of panelWidth candidates stored dimension-major, with squared norms.
// Padding candidates have norm +Inf, so they are never near anything.
type packed struct {
	n, d, np int
	rows     []float32 // centred rows, (n+3)×d with zero padding rows
	norms    []float32 // n+3
	b        []float32 // np panels of d×panelWidth
	nc       []float32 // np×panelWidth
}

func pack(x []float32, n, d int) *packed { return packInto(nil, x, n, d) }

// packInto is pack writing into p's buffers when they are large enough (p
// may be nil), so a warm caller allocates nothing.
func packInto(p *packed, x []float32, n, d int) *packed {
	if p == nil {
		p = new(packed)
	}
	mean := make([]float64, d)
	for i := range n {
		for t, v := range x[i*d : (i+1)*d] {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(n)
	}
	np := chunksOf(n, panelWidth)
	p.n, p.d, p.np = n, d, np
	p.rows = resize(p.rows, (n+3)*d)
	p.norms = resize(p.norms, n+3)
	p.b = resize(p.b, np*panelWidth*d)
	p.nc = resize(p.nc, np*panelWidth)
	// Padding rows and candidates must be zero, whatever a previous use left.
	clear(p.rows[n*d:])
	clear(p.norms[n:])
	clear(p.b[(n/panelWidth)*panelWidth*d:])
	for i := range n {
		var s float64
		for t, v := range x[i*d : (i+1)*d] {
			c := float64(v) - mean[t]
			p.rows[i*d+t] = float32(c)
			s += c * c
		}
		p.norms[i] = float32(s)
	}
	for i := range np * panelWidth {
		pi, c := i/panelWidth, i%panelWidth
		if i >= n {
			p.nc[i] = float32(math.Inf(1))
			continue
		}
		p.nc[i] = p.norms[i]
		for t := range d {
			p.b[(pi*d+t)*panelWidth+c] = p.rows[i*d+t]
		}
	}
	return p
}

// knnKernelGo is the portable distance kernel. For the 4 query rows of a
// (4×d) and np panels of b, it writes dist = nq[r]+nc[c]−2·a_r·b_c to
// out[p*64+r*16+c] and sets bit 16r+c of masks[p] when dist < thr[r].
func knnKernelGo(a []float32, d int, nq, thr *[4]float32, b, nc []float32, np int, out []float32, masks []uint64) {
	var acc [4][panelWidth]float32
	for p := range np {
		acc = [4][panelWidth]float32{}
		pb := b[p*d*panelWidth : (p+1)*d*panelWidth]
		for t := range d {
			col := pb[t*panelWidth : (t+1)*panelWidth]
			for r := range 4 {
				av := a[r*d+t]
				for c, bv := range col {
					acc[r][c] += av * bv
				}
			}
		}
		var m uint64
		for r := range 4 {
			for c := range panelWidth {
				dd := nq[r] + nc[p*panelWidth+c] - 2*acc[r][c]
				out[p*64+r*16+c] = dd
				if dd < thr[r] {
					m |= 1 << (16*r + c)
				}
			}
		}
		masks[p] = m
	}
}

// exactKNN finds the k nearest neighbours of every point of x (n×d) by brute
// force over the pool. Distances are the kernel's float32 values, clamped at
// zero: accurate to about 1e-6 of the data's squared radius, which is far
// finer than perplexity calibration needs. Each point's neighbours come in no
// particular order. k must be < n.
//
// prev, when it is a k-neighbour graph of the same points (the previous
// epoch's), warm-starts the search: the distance from a point to the
// farthest of its previous neighbours, measured now, bounds its k-th
// nearest distance, so the sweep rejects almost every candidate at once.
// The result is still exact.
func exactKNN(pl *pool, x []float32, n, d, k int, prev *neighbours) *neighbours {
	return exactKNNInto(pl, x, n, d, k, prev, nil, nil)
}

// knnBuffers are exactKNN's working buffers, kept between calls so a warm
// search allocates nothing: the packed points and one set of chunk scratch
// per goroutine, handed out through a channel.
type knnBuffers struct {
	pk   packed
	free chan *knnScratch
}

// knnScratch is one goroutine's scratch for knnChunk.
type knnScratch struct {
	heaps []candidates
	out   []float32
	masks []uint64
}

func newKNNBuffers(threads int) *knnBuffers {
	b := &knnBuffers{free: make(chan *knnScratch, threads)}
	for range threads {
		b.free <- new(knnScratch)
	}
	return b
}

// exactKNNInto is exactKNN writing the graph into dst (nil: a new one) and
// working in buf (nil: fresh buffers). dst must not be prev.
func exactKNNInto(pl *pool, x []float32, n, d, k int, prev, dst *neighbours, buf *knnBuffers) *neighbours {
	if buf == nil || cap(buf.free) < pl.workers+1 {
		buf = newKNNBuffers(pl.workers + 1)
	}
	pk := packInto(&buf.pk, x, n, d)
	g := dst
	if g == nil {
		g = new(neighbours)
	}
	g.n, g.k = n, k
	g.idx, g.dist = resize(g.idx, n*k), resize(g.dist, n*k)
	if prev != nil && (prev.n != n || prev.k != k) {
		prev = nil
	}
	pl.run(chunksOf(n, knnRows), func(c int) {
		lo, hi := span(c, knnRows, n)
		s := <-buf.free
		knnChunk(pk, k, lo, hi, g, prev, x, s)
		buf.free <- s
	})
	return g
}

func knnChunk(pk *packed, k, lo, hi int, g *neighbours, prev *neighbours, x []float32, s *knnScratch) {
	d := pk.d
	for len(s.heaps) < hi-lo {
		s.heaps = append(s.heaps, newCandidates(k))
	}
	heaps := s.heaps[:hi-lo]
	for r := range heaps {
		h := &heaps[r]
		if cap(h.d) < 4*k+16 {
			*h = newCandidates(k)
		}
		h.d, h.i, h.k, h.thr = h.d[:0], h.i[:0], k, float32(math.Inf(1))
		if prev != nil {
			i := lo + r
			far := 0.0
			for _, j := range prev.idx[i*k : (i+1)*k] {
				far = max(far, sqDist64(x[i*d:(i+1)*d], x[int(j)*d:(int(j)+1)*d]))
			}
			// A margin for the kernel's float32 rounding keeps every
			// previous neighbour admissible.
			heaps[r].thr = float32(far*(1+1e-4) + 1e-30)
		}
	}
	s.out = resize(s.out, knnPanels*64)
	s.masks = resize(s.masks, knnPanels)
	out, masks := s.out, s.masks
	for p0 := 0; p0 < pk.np; p0 += knnPanels {
		np := min(knnPanels, pk.np-p0)
		b := pk.b[p0*d*panelWidth : (p0+np)*d*panelWidth]
		nc := pk.nc[p0*panelWidth : (p0+np)*panelWidth]
		for q := lo; q < hi; q += 4 {
			var nq, thr [4]float32
			for r := range 4 {
				nq[r] = pk.norms[q+r]
				if q+r >= hi {
					thr[r] = float32(math.Inf(-1))
				} else {
					thr[r] = heaps[q+r-lo].thr
				}
			}
			knnKernel(pk.rows[q*d:(q+4)*d], d, &nq, &thr, b, nc, np, out, masks)
			for p, m := range masks[:np] {
				for m != 0 {
					bit := bits.TrailingZeros64(m)
					m &= m - 1
					r, c := bit>>4, bit&15
					j := (p0+p)*panelWidth + c
					if j == q+r {
						continue
					}
					heaps[q+r-lo].push(max(out[p*64+bit], 0), int32(j))
				}
			}
		}
	}
	for r := range heaps {
		h := &heaps[r]
		h.shrink()
		copy(g.idx[(lo+r)*k:(lo+r+1)*k], h.i)
		for m, v := range h.d {
			g.dist[(lo+r)*k+m] = float64(v)
		}
	}
}

func sqDist64(a, b []float32) float64 {
	var s float64
	b = b[:len(a)]
	for t, v := range a {
		df := float64(v) - float64(b[t])
		s += df * df
	}
	return s
}

// candidates keeps the k smallest distances offered, in no order. Offers
// below the running threshold are appended; when the buffer fills, a
// selection keeps the k smallest and tightens the threshold, so an offer costs
// O(1) amortised.
type candidates struct {
	d   []float32
	i   []int32
	k   int
	thr float32
}

func newCandidates(k int) candidates {
	return candidates{d: make([]float32, 0, 4*k+16), i: make([]int32, 0, 4*k+16), k: k, thr: float32(math.Inf(1))}
}

func (c *candidates) push(d float32, i int32) {
	if d >= c.thr {
		return
	}
	c.d = append(c.d, d)
	c.i = append(c.i, i)
	if len(c.d) == cap(c.d) {
		c.shrink()
	}
}

// shrink keeps the k smallest offers and sets the threshold to the largest of
// them.
func (c *candidates) shrink() {
	if len(c.d) <= c.k {
		return
	}
	selectK(c.d, c.i, c.k)
	c.d, c.i = c.d[:c.k], c.i[:c.k]
	c.thr = slices.Max(c.d)
}

// selectK reorders d (and idx alongside) so that its k smallest values come
// first, in no order (Hoare's quickselect, median-of-three pivots).
func selectK[F float32 | float64](d []F, idx []int32, k int) {
	lo, hi := 0, len(d)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		a, b, c := d[lo], d[mid], d[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for d[i] < pivot {
				i++
			}
			for d[j] > pivot {
				j--
			}
			if i <= j {
				d[i], d[j] = d[j], d[i]
				idx[i], idx[j] = idx[j], idx[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
