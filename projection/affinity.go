package projection

import (
	"math"
	"slices"
)

// csr is a sparse symmetric matrix in compressed sparse rows: the entries of
// row i are col[row[i]:row[i+1]] with values val[...], columns ascending.
type csr struct {
	n   int
	row []int32
	col []int32
	val []float64
}

// perplexityTol is the tolerance on the entropy (in nats) of each calibrated
// row, as in the reference implementation.
const perplexityTol = 1e-5

// calibrate turns each row's squared neighbour distances (dist, n×k, nearest
// first) into conditional probabilities p_{j|i} (written to pc, n×k) whose
// perplexity is perp. beta holds each row's precision 1/(2σ²): if non-zero
// on entry it is the starting guess (warm start), and on return it holds the
// calibrated value. Rows whose distances are all equal get uniform
// probabilities.
func calibrate(pl *pool, dist []float64, n, k int, perp float64, beta, pc []float64) {
	target := math.Log(perp)
	const per = 64
	pl.run(chunksOf(n, per), func(c int) {
		lo, hi := span(c, per, n)
		for i := lo; i < hi; i++ {
			beta[i] = calibrateRow(dist[i*k:(i+1)*k], target, beta[i], pc[i*k:(i+1)*k])
		}
	})
}

// calibrateRow finds β with H(p) = target for p_j ∝ exp(−β·(d_j − d_0)) by
// Newton steps on H(β), falling back to bisection whenever a step leaves the
// bracket. Shifting by the smallest distance d_0 changes no probability but
// keeps the exponentials from underflowing.
func calibrateRow(d []float64, target, beta0 float64, p []float64) float64 {
	d0 := slices.Min(d)
	lo, hi := 0.0, math.Inf(1)
	beta := beta0
	if !(beta > 0) || math.IsInf(beta, 0) {
		// A scale-free first guess: the mean gap to the nearest neighbour.
		var s float64
		for _, v := range d {
			s += v - d0
		}
		if s > 0 {
			beta = float64(len(d)) / s
		} else {
			beta = 1
		}
	}
	for range 100 {
		var sum, sd, sdd float64
		for j, v := range d {
			e := math.Exp(-beta * (v - d0))
			p[j] = e
			sum += e
			sd += e * (v - d0)
			sdd += e * (v - d0) * (v - d0)
		}
		mean := sd / sum
		h := math.Log(sum) + beta*mean
		diff := h - target
		if math.Abs(diff) < perplexityTol {
			break
		}
		if diff > 0 { // too flat: sharpen
			lo = beta
		} else {
			hi = beta
		}
		variance := sdd/sum - mean*mean
		next := beta
		if variance > 0 {
			next = beta + diff/(beta*variance) // dH/dβ = −β·Var
		}
		if !(next > lo && next < hi) || variance <= 0 {
			if math.IsInf(hi, 1) {
				next = 2 * beta
			} else {
				next = (lo + hi) / 2
			}
		}
		if next == beta || hi-lo < 1e-12*beta {
			break
		}
		beta = next
		if beta > 1e300 {
			break
		}
	}
	var sum float64
	for j, v := range d {
		p[j] = math.Exp(-beta * (v - d0))
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	return beta
}

// symmetrize builds P = (P_cond + P_condᵀ)/(2n) as a sparse matrix from the
// conditional probabilities pc over the neighbour lists idx (both n×k).
// Columns within a row come in no particular order.
func symmetrize(pl *pool, idx []int32, pc []float64, n, k int) *csr {
	return symmetrizeInto(pl, idx, pc, n, k, nil, nil)
}

// symBuffers are symmetrize's working buffers, kept between calls.
type symBuffers struct {
	rstart, rev, fill []int32
	marks, tags       [][]int32 // per chunk, n each
}

// symmetrizeInto is symmetrize writing into out (nil: a new matrix) and
// working in buf (nil: fresh buffers).
func symmetrizeInto(pl *pool, idx []int32, pc []float64, n, k int, out *csr, buf *symBuffers) *csr {
	if buf == nil {
		buf = new(symBuffers)
	}
	if out == nil {
		out = new(csr)
	}
	// Reverse lists: for each j, the (i, m) with idx[i*k+m] == j.
	rstart := resize(buf.rstart, n+1)
	clear(rstart)
	for _, j := range idx {
		rstart[j+1]++
	}
	for i := range n {
		rstart[i+1] += rstart[i]
	}
	rev := resize(buf.rev, len(idx)) // positions i*k+m
	fill := resize(buf.fill, n)
	copy(fill, rstart[:n])
	for e, j := range idx {
		rev[fill[j]] = int32(e)
		fill[j]++
	}
	buf.rstart, buf.rev, buf.fill = rstart, rev, fill
	// Row sizes: own entries plus reverse entries not already own.
	const per = 256
	chunks := chunksOf(n, per)
	size := resize(out.row, n+1)
	size[0] = 0
	for len(buf.marks) < chunks {
		buf.marks = append(buf.marks, nil)
		buf.tags = append(buf.tags, nil)
	}
	marks, tags := buf.marks, buf.tags
	pl.run(chunks, func(c int) {
		lo, hi := span(c, per, n)
		mark := resize(marks[c], n) // row tag + 1 of the last row that used j
		clear(mark)
		marks[c] = mark
		for i := lo; i < hi; i++ {
			tag := int32(i + 1)
			for _, j := range idx[i*k : (i+1)*k] {
				mark[j] = tag
			}
			s := int32(k)
			for _, e := range rev[rstart[i]:rstart[i+1]] {
				if j := int(e) / k; mark[j] != tag {
					s++
				}
			}
			size[i+1] = s
		}
	})
	for i := range n {
		size[i+1] += size[i]
	}
	out.n, out.row = n, size
	// The number of entries varies a little from epoch to epoch: headroom
	// keeps a warm frame from reallocating.
	out.col, out.val = resizeSlack(out.col, int(size[n])), resizeSlack(out.val, int(size[n]))
	scale := 1 / (2 * float64(n))
	pl.run(chunks, func(c int) {
		lo, hi := span(c, per, n)
		slot := marks[c] // reused: slot index + 1 of column j in row i, per row via a tag
		tagOf := resize(tags[c], n)
		clear(tagOf)
		tags[c] = tagOf
		for i := lo; i < hi; i++ {
			tag := int32(i + 1)
			w := size[i]
			for m, j := range idx[i*k : (i+1)*k] {
				out.col[w], out.val[w] = j, pc[i*k+m]*scale
				slot[j], tagOf[j] = w, tag
				w++
			}
			for _, e := range rev[rstart[i]:rstart[i+1]] {
				j := int32(int(e) / k)
				v := pc[e] * scale
				if tagOf[j] == tag {
					out.val[slot[j]] += v
					continue
				}
				out.col[w], out.val[w] = j, v
				w++
			}
		}
	})
	return out
}

// resize returns s with length n, reusing its array when large enough. The
// contents are unspecified: callers overwrite or clear them.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// resizeSlack is resize, with an eighth more capacity when it allocates.
func resizeSlack[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/8)
	}
	return s[:n]
}

// upperTriangle returns the entries of m above the diagonal (column > row).
func (m *csr) upperTriangle() *csr { return m.upperTriangleInto(nil) }

// upperTriangleInto is upperTriangle writing into u (nil: a new matrix).
func (m *csr) upperTriangleInto(u *csr) *csr {
	if u == nil {
		u = new(csr)
	}
	u.n, u.row = m.n, resize(u.row, m.n+1)
	u.row[0] = 0
	// P is symmetric with an empty diagonal: half its entries lie above.
	u.col, u.val = resizeSlack(u.col, len(m.col)/2)[:0], resizeSlack(u.val, len(m.val)/2)[:0]
	for i := range m.n {
		for e := m.row[i]; e < m.row[i+1]; e++ {
			if int(m.col[e]) > i {
				u.col = append(u.col, m.col[e])
				u.val = append(u.val, m.val[e])
			}
		}
		u.row[i+1] = int32(len(u.col))
	}
	return u
}

// balancedRanges cuts m's rows into k contiguous ranges of about equal
// entries (plus one per row); range s is rows [r[s], r[s+1]).
func balancedRanges(m *csr, k int) []int {
	r := make([]int, k+1)
	total := int(m.row[m.n]) + m.n
	i := 0
	for s := 1; s < k; s++ {
		target := total * s / k
		for i < m.n && int(m.row[i])+i < target {
			i++
		}
		r[s] = i
	}
	r[k] = m.n
	return r
}
