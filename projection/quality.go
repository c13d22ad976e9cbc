package projection

import (
	"fmt"
	"math"
	"slices"
)

// klDropBelow is the conditional probability under which the exact KL
// evaluator drops a pair. The dropped mass is below n·1e-14 and changes the
// KL divergence by far less than 1e-9.
const klDropBelow = 1e-14

// KL returns the KL divergence KL(P‖Q) of the layout y (n×dims) for the
// input x (n×d), computed exactly: P is calibrated to the given perplexity
// over all pairs (not just nearest neighbours) and Q's normalisation sums
// over all pairs. It is the one evaluator that scores layouts from different
// programs alike. It costs O(n²·d) time and uses threads goroutines
// (0 means GOMAXPROCS); to score several layouts of one input, make a
// KLEvaluator once.
func KL(x []float32, n, d int, y []float32, dims int, perplexity float64, threads int) (float64, error) {
	ev, err := NewKLEvaluator(x, n, d, perplexity, threads)
	if err != nil {
		return 0, err
	}
	return ev.KL(y, dims)
}

// KLEvaluator holds the exact input affinities P of one input, so several
// layouts of it can be scored without recomputing them.
type KLEvaluator struct {
	n, threads int
	p          *csr // symmetric P over all pairs, pairs below klDropBelow dropped
}

// NewKLEvaluator calibrates the exact affinities of x (n×d) at the given
// perplexity, which must be below n−1. Input distances come from the float32
// distance kernel (relative error about 1e-6); everything after is float64.
func NewKLEvaluator(x []float32, n, d int, perplexity float64, threads int) (*KLEvaluator, error) {
	if err := checkMatrix("input", x, n, d); err != nil {
		return nil, err
	}
	if !(perplexity > 0) || perplexity >= float64(n-1) {
		return nil, fmt.Errorf("projection: perplexity %v for %d points: %w", perplexity, n, ErrPerplexity)
	}
	pl := newPool(threads)
	defer pl.close()
	pk := pack(x, n, d)
	type entry struct {
		j int32
		p float64
	}
	rows := make([][]entry, n)
	target := math.Log(perplexity)
	const per = 16
	pl.run(chunksOf(n, per), func(c int) {
		lo, hi := span(c, per, n)
		out := make([]float32, pk.np*64)
		masks := make([]uint64, pk.np)
		dist := make([]float64, n-1)
		near := make([]float64, n-1)
		ids := make([]int32, n-1)
		pc := make([]float64, n-1)
		var nq, thr [4]float32
		for q := lo; q < hi; q += 4 {
			for r := range 4 {
				nq[r], thr[r] = pk.norms[q+r], float32(math.Inf(-1))
			}
			knnKernel(pk.rows[q*d:(q+4)*d], d, &nq, &thr, pk.b, pk.nc, pk.np, out, masks)
			for r := range min(4, hi-q) {
				i := q + r
				m := 0
				for j := range n {
					if j != i {
						dist[m] = max(float64(out[(j/panelWidth)*64+r*16+j%panelWidth]), 0)
						m++
					}
				}
				// A first β from the nearest neighbours, then Newton on the
				// full row: a few passes instead of dozens.
				kk := min(n-1, int(10*perplexity)+1)
				copy(near, dist)
				selectK(near, ids, kk)
				beta := calibrateRow(near[:kk], target, 0, pc[:kk])
				calibrateRow(dist, target, beta, pc)
				var row []entry
				m = 0
				for j := range n {
					if j != i {
						if pc[m] >= klDropBelow {
							row = append(row, entry{int32(j), pc[m]})
						}
						m++
					}
				}
				rows[i] = row
			}
		}
	})
	// Symmetrise: P_ij = (p_j|i + p_i|j) / 2n, rows sorted by column.
	find := func(r []entry, j int32) float64 {
		k, ok := slices.BinarySearchFunc(r, j, func(e entry, t int32) int { return int(e.j - t) })
		if ok {
			return r[k].p
		}
		return 0
	}
	p := &csr{n: n, row: make([]int32, n+1)}
	scale := 1 / (2 * float64(n))
	for i := range n {
		// Entries from row i, then those only row j holds.
		for _, e := range rows[i] {
			p.col = append(p.col, e.j)
			p.val = append(p.val, (e.p+find(rows[e.j], int32(i)))*scale)
		}
		p.row[i+1] = int32(len(p.col))
	}
	// Pairs held only by the other row: add them to both rows' view by
	// scanning each row's entries against the reverse row.
	extra := make([][]entry, n)
	for i := range n {
		for _, e := range rows[i] {
			if find(rows[e.j], int32(i)) == 0 {
				extra[e.j] = append(extra[e.j], entry{int32(i), e.p * scale})
			}
		}
	}
	full := &csr{n: n, row: make([]int32, n+1)}
	for i := range n {
		full.col = append(full.col, p.col[p.row[i]:p.row[i+1]]...)
		full.val = append(full.val, p.val[p.row[i]:p.row[i+1]]...)
		for _, e := range extra[i] {
			full.col = append(full.col, e.j)
			full.val = append(full.val, e.p)
		}
		full.row[i+1] = int32(len(full.col))
	}
	return &KLEvaluator{n: n, threads: threads, p: full}, nil
}

// KL returns KL(P‖Q) for the layout y (n×dims).
func (ev *KLEvaluator) KL(y []float32, dims int) (float64, error) {
	n := ev.n
	if err := checkMatrix("layout", y, n, dims); err != nil {
		return 0, err
	}
	pl := newPool(ev.threads)
	defer pl.close()
	const per = 16
	partial := make([]float64, chunksOf(n, per))
	zpart := make([]float64, chunksOf(n, per))
	pl.run(len(partial), func(c int) {
		lo, hi := span(c, per, n)
		s, z := 0.0, 0.0
		for i := lo; i < hi; i++ {
			yi := y[i*dims : (i+1)*dims]
			for j := range n {
				if j != i {
					z += 1 / (1 + sqDist64(yi, y[j*dims:(j+1)*dims]))
				}
			}
			for e := ev.p.row[i]; e < ev.p.row[i+1]; e++ {
				j := int(ev.p.col[e])
				if pv := ev.p.val[e]; pv > 0 {
					w := 1 / (1 + sqDist64(yi, y[j*dims:(j+1)*dims]))
					s += pv * (math.Log(pv) - math.Log(w))
				}
			}
		}
		partial[c], zpart[c] = s, z
	})
	s, z := 0.0, 0.0
	for c := range partial {
		s += partial[c]
		z += zpart[c]
	}
	// Σ P·log(P/Q) = Σ P·(log P − log w) + log Z·Σ P, and Σ P = 1 up to the
	// dropped mass.
	return s + math.Log(z), nil
}

func checkPair(x []float32, n, d int, y []float32, dims int) error {
	if err := checkMatrix("input", x, n, d); err != nil {
		return err
	}
	if err := checkMatrix("layout", y, n, dims); err != nil {
		return err
	}
	return nil
}

// Trustworthiness returns the trustworthiness T(k) of the layout y (n×dims)
// for the input x (n×d) (Venna & Kaski 2001): 1 minus a normalised penalty
// for every point that is among a point's k nearest neighbours in the layout
// but not in the input, weighted by how far down the input ranking it is.
// 1 means no false neighbours. It needs 3k < 2n−1 (k = 10 is usual) and is
// computed over all points, in O(n²·(d+dims)) time over threads goroutines
// (0 means GOMAXPROCS); input distances come from the float32 distance
// kernel (relative error about 1e-6).
func Trustworthiness(x []float32, n, d int, y []float32, dims, k, threads int) (float64, error) {
	t, _, err := neighbourhoodScores(x, n, d, y, dims, k, threads)
	return t, err
}

// KNNPreservation returns the mean fraction of each point's k nearest
// neighbours in the input x (n×d) that are also among its k nearest in the
// layout y (n×dims). 1 means every neighbourhood survives. It is computed
// like Trustworthiness and has the same limits on k.
func KNNPreservation(x []float32, n, d int, y []float32, dims, k, threads int) (float64, error) {
	_, p, err := neighbourhoodScores(x, n, d, y, dims, k, threads)
	return p, err
}

// neighbourhoodScores computes trustworthiness and kNN preservation in one
// pass. Input distances come from the float32 distance kernel; ties in
// distance count in the point's favour.
func neighbourhoodScores(x []float32, n, d int, y []float32, dims, k, threads int) (trust, pres float64, err error) {
	if err := checkPair(x, n, d, y, dims); err != nil {
		return 0, 0, err
	}
	if k < 1 || 2*n-3*k-1 <= 0 || k >= n {
		return 0, 0, fmt.Errorf("projection: neighbourhood size %d for %d points (want 1 ≤ k, 3k < 2n−1): %w", k, n, ErrOption)
	}
	pl := newPool(threads)
	defer pl.close()
	t, p := neighbourhoodScoresIn(pl, x, n, d, y, dims, k, nil)
	return t, p, nil
}

// scoreBuffers are neighbourhoodScoresIn's working buffers, kept between
// calls so that Live's per-frame quality figures allocate nothing once warm:
// the packed input, per-chunk sums, and one scratch set per goroutine handed
// out through a channel.
type scoreBuffers struct {
	pk               packed
	penalty, shared  []float64
	free             chan *scoreScratch
	sampleX, sampleY []float32 // Live's subsample rows
}

type scoreScratch struct {
	out    []float32
	masks  []uint64
	dh     []float64
	tmp    []float64
	lowIDs []int32
}

// neighbourhoodScoresIn is neighbourhoodScores over pl, after the argument
// checks, working in buf (nil: fresh buffers).
func neighbourhoodScoresIn(pl *pool, x []float32, n, d int, y []float32, dims, k int, buf *scoreBuffers) (trust, pres float64) {
	if buf == nil {
		buf = new(scoreBuffers)
	}
	if cap(buf.free) < pl.workers+1 {
		buf.free = make(chan *scoreScratch, pl.workers+1)
		for range pl.workers + 1 {
			buf.free <- new(scoreScratch)
		}
	}
	pk := packInto(&buf.pk, x, n, d)
	const per = 16 // rows per chunk, a multiple of 4
	buf.penalty = resize(buf.penalty, chunksOf(n, per))
	buf.shared = resize(buf.shared, chunksOf(n, per))
	penalty, shared := buf.penalty, buf.shared
	pl.run(len(penalty), func(c int) {
		lo, hi := span(c, per, n)
		sc := <-buf.free
		sc.out = resize(sc.out, pk.np*64)
		sc.masks = resize(sc.masks, pk.np)
		sc.dh = resize(sc.dh, n)
		sc.tmp = resize(sc.tmp, 2*k)
		sc.lowIDs = resize(sc.lowIDs, 2*k)
		out, masks, dh, tmp, lowIDs := sc.out, sc.masks, sc.dh, sc.tmp, sc.lowIDs
		var pen, sh float64
		var nq, thr [4]float32
		for q := lo; q < hi; q += 4 {
			for r := range 4 {
				nq[r], thr[r] = pk.norms[q+r], float32(math.Inf(-1))
			}
			knnKernel(pk.rows[q*d:(q+4)*d], d, &nq, &thr, pk.b, pk.nc, pk.np, out, masks)
			for r := range min(4, hi-q) {
				i := q + r
				for j := range n {
					dh[j] = max(float64(out[(j/panelWidth)*64+r*16+j%panelWidth]), 0)
				}
				// Self is never its own neighbour, nor below anyone in rank.
				dh[i] = math.Inf(1)
				low, lowD := lowIDs[0:0:k], tmp[0:0:k]
				yi := y[i*dims : (i+1)*dims]
				for j := range n {
					if j == i {
						continue
					}
					var dist float64
					if dims == 2 {
						dx, dy := float64(yi[0])-float64(y[2*j]), float64(yi[1])-float64(y[2*j+1])
						dist = dx*dx + dy*dy
					} else {
						dist = sqDist64(yi, y[j*dims:(j+1)*dims])
					}
					low, lowD = pushSmallest(low, lowD, k, dist, int32(j))
				}
				// The k-th smallest input distance bounds the input
				// neighbourhood.
				kth := kthOf(dh, k, tmp[k:k:2*k], lowIDs[k:k:2*k])
				for _, j := range low {
					dj := dh[j]
					if dj <= kth {
						sh++
						continue
					}
					rank := 1
					for _, v := range dh {
						if v < dj {
							rank++
						}
					}
					pen += float64(rank - k)
				}
			}
		}
		penalty[c], shared[c] = pen, sh
		buf.free <- sc
	})
	var pen, sh float64
	for c := range penalty {
		pen += penalty[c]
		sh += shared[c]
	}
	nf, kf := float64(n), float64(k)
	trust = 1 - 2/(nf*kf*(2*nf-3*kf-1))*pen
	pres = sh / (nf * kf)
	return trust, pres
}

// pushSmallest offers (v, id) to the k smallest values kept in vals, a
// max-heap (ids alongside), and returns both slices. Scanning m values costs
// O(m) compares plus O(k log k) per value that enters, rare once the heap is
// full: far less than a selection over the whole row.
func pushSmallest(ids []int32, vals []float64, k int, v float64, id int32) ([]int32, []float64) {
	if len(vals) < k {
		ids, vals = append(ids, id), append(vals, v)
		for c := len(vals) - 1; c > 0; {
			p := (c - 1) / 2
			if vals[p] >= vals[c] {
				break
			}
			vals[p], vals[c], ids[p], ids[c] = vals[c], vals[p], ids[c], ids[p]
			c = p
		}
		return ids, vals
	}
	if !(v < vals[0]) {
		return ids, vals
	}
	vals[0], ids[0] = v, id
	for p := 0; ; {
		c := 2*p + 1
		if c >= k {
			break
		}
		if c+1 < k && vals[c+1] > vals[c] {
			c++
		}
		if vals[p] >= vals[c] {
			break
		}
		vals[p], vals[c], ids[p], ids[c] = vals[c], vals[p], ids[c], ids[p]
		p = c
	}
	return ids, vals
}

// kthOf returns the k-th smallest value of d (1-based, k ≤ len(d)), using
// heap and ids (capacity k each) as scratch.
func kthOf(d []float64, k int, heap []float64, ids []int32) float64 {
	for _, v := range d {
		if len(heap) == k && !(v < heap[0]) {
			continue
		}
		ids, heap = pushSmallest(ids, heap, k, v, 0)
	}
	return heap[0]
}
