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

func pack(x []float32, n, d int) *packed {
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
	p := &packed{n: n, d: d, np: np,
		rows:  make([]float32, (n+3)*d),
		norms: make([]float32, n+3),
		b:     make([]float32, np*panelWidth*d),
		nc:    make([]float32, np*panelWidth),
	}
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
	pk := pack(x, n, d)
	g := &neighbours{n: n, k: k, idx: make([]int32, n*k), dist: make([]float64, n*k)}
	if prev != nil && (prev.n != n || prev.k != k) {
		prev = nil
	}
	pl.run(chunksOf(n, knnRows), func(c int) {
		lo, hi := span(c, knnRows, n)
		knnChunk(pk, k, lo, hi, g, prev, x)
	})
	return g
}

func knnChunk(pk *packed, k, lo, hi int, g *neighbours, prev *neighbours, x []float32) {
	d := pk.d
	heaps := make([]candidates, hi-lo)
	for r := range heaps {
		heaps[r] = newCandidates(k)
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
	out := make([]float32, knnPanels*64)
	masks := make([]uint64, knnPanels)
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
func selectK(d []float32, idx []int32, k int) {
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
