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
				selectK64(near, ids, kk)
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

// selectK64 is selectK for float64 distances.
func selectK64(d []float64, idx []int32, k int) {
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
	pk := pack(x, n, d)
	const per = 16 // rows per chunk, a multiple of 4
	penalty := make([]float64, chunksOf(n, per))
	shared := make([]float64, chunksOf(n, per))
	pl.run(len(penalty), func(c int) {
		lo, hi := span(c, per, n)
		out := make([]float32, pk.np*64)
		masks := make([]uint64, pk.np)
		dh := make([]float64, n)
		tmp := make([]float64, n-1)
		lowIDs := make([]int32, n-1)
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
				m := 0
				for j := range n {
					if j != i {
						tmp[m], lowIDs[m] = sqDist64(y[i*dims:(i+1)*dims], y[j*dims:(j+1)*dims]), int32(j)
						m++
					}
				}
				selectK64(tmp, lowIDs, k)
				low := lowIDs[:k]
				// The k-th smallest input distance bounds the input
				// neighbourhood.
				m = 0
				for j := range n {
					if j != i {
						tmp[m] = dh[j]
						m++
					}
				}
				kth := kthSmallest(tmp, k)
				for _, j := range low {
					dj := dh[j]
					if dj <= kth {
						sh++
						continue
					}
					rank := 1
					for u, v := range dh {
						if v < dj && u != i {
							rank++
						}
					}
					pen += float64(rank - k)
				}
			}
		}
		penalty[c], shared[c] = pen, sh
	})
	var pen, sh float64
	for c := range penalty {
		pen += penalty[c]
		sh += shared[c]
	}
	nf, kf := float64(n), float64(k)
	trust = 1 - 2/(nf*kf*(2*nf-3*kf-1))*pen
	pres = sh / (nf * kf)
	return trust, pres, nil
}

// kthSmallest returns the k-th smallest value of d (1-based), reordering d.
func kthSmallest(d []float64, k int) float64 {
	lo, hi := 0, len(d)-1
	target := k - 1
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
				i++
				j--
			}
		}
		switch {
		case target <= j:
			hi = j
		case target >= i:
			lo = i
		default:
			return d[target]
		}
	}
	return d[target]
}
