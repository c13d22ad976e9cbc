package trainer

import (
	"cmp"
	"math"
	"slices"
)

// tripletKernel is the triplet loss of Schroff, Kalenichenko & Philbin (2015)
// on Euclidean (not squared) distances,
//
//	ℓ(a, p, n) = max(0, d_ap − d_an + m),
//
// over the triplets its mining mode picks (see NewLoss for the three modes).
// The mined triplets are held fixed when differentiating: the selection is
// piecewise constant, so this is the exact gradient away from ties (ties are
// broken towards the lower row index). A zero distance contributes the
// subgradient 0.
type tripletKernel struct {
	margin float64
	mining string
}

func (k tripletKernel) eval(ws *workspace, b int, groups []int32) float64 {
	// ws.s becomes the distance matrix D, row by row: row i reads only s_i·.
	// ws.w collects dL/dD_ij for the ordered pair (i, j) until the end turns
	// it into W.
	dist := ws.s
	for i := range b {
		for j := range b {
			if j == i {
				dist[i*b+j] = 0
			} else {
				dist[i*b+j] = math.Sqrt(ws.dist2(b, i, j))
			}
		}
	}
	clear(ws.w)
	var loss float64
	switch k.mining {
	case MiningAll:
		loss = k.all(ws, b, groups)
	case MiningHard:
		loss = k.hard(ws, b, groups)
	default:
		loss = k.semiHard(ws, b, groups)
	}
	// D_ij and D_ji are one distance with dD/d(d²) = 1/(2D), so the pair's
	// coefficient on d² is c = (dL/dD_ij + dL/dD_ji)/(2D), and W_ij =
	// −dL/dD_ij / D gives (W + Wᵀ)_ij = −2c.
	w := ws.w
	for i, d := range dist {
		if d > 0 {
			w[i] = -w[i] / d
		} else {
			w[i] = 0
		}
	}
	setDiagonal(w, ws.vec1, ws.vec2, b)
	return loss
}

// positives returns anchor a's positives sorted by distance, ties by row,
// in ws.rows.
func positives(ws *workspace, b, a int, groups []int32) []distRow {
	row := ws.s[a*b : (a+1)*b]
	ps := ws.rows[:0]
	for j, g := range groups {
		if j != a && g == groups[a] {
			ps = append(ps, distRow{row[j], j})
		}
	}
	slices.SortFunc(ps, func(x, y distRow) int {
		return cmp.Or(cmp.Compare(x.d, y.d), cmp.Compare(x.j, y.j))
	})
	return ps
}

// firstActive is the first i with ps[i].d − dan + m > 0, or len(ps): the
// hinge grows with d_ap, so the positives forming an active triplet with a
// negative at dan are a suffix of ps. The bisection keeps one candidate and
// moves it with a conditional add, which compiles without a branch to
// mispredict (Khuong & Morin 2017, "Array layouts for comparison-based
// searching").
func firstActive(ps []distRow, dan, m float64) int {
	if len(ps) == 0 {
		return 0
	}
	base, n := 0, len(ps)
	for n > 1 {
		half := n / 2
		if !(ps[base+half].d-dan+m > 0) {
			base += half
		}
		n -= half
	}
	if !(ps[base].d-dan+m > 0) {
		base++
	}
	return base
}

// countBelow is how many of ps have d < x, bisected like firstActive.
func countBelow(ps []distRow, x float64) int {
	if len(ps) == 0 {
		return 0
	}
	base, n := 0, len(ps)
	for n > 1 {
		half := n / 2
		if ps[base+half].d < x {
			base += half
		}
		n -= half
	}
	if ps[base].d < x {
		base++
	}
	return base
}

// all is batch-all: the mean over the triplets with a positive hinge. Per
// anchor, with the positives sorted, each negative finds its active
// positives (a suffix) by bisection and takes its share of the sum from
// suffix sums: O(b log b) per anchor instead of O(|P|·b).
func (k tripletKernel) all(ws *workspace, b int, groups []int32) float64 {
	var sum float64
	var active int
	for a := range b {
		ps := positives(ws, b, a, groups)
		np := len(ps)
		if np == 0 {
			continue
		}
		suffix := ws.vec1[:np+1] // suffix[i] = Σ_{q≥i} d_aq
		suffix[np] = 0
		for i := np - 1; i >= 0; i-- {
			suffix[i] = suffix[i+1] + ps[i].d
		}
		starts := ws.vec2[:np+1] // starts[i]: negatives whose active suffix starts at i
		clear(starts)
		row, drow := ws.s[a*b:(a+1)*b], ws.w[a*b:(a+1)*b]
		for n, g := range groups {
			if g == groups[a] {
				continue
			}
			dan := row[n]
			i := firstActive(ps, dan, k.margin)
			c := np - i
			if c == 0 {
				continue
			}
			sum += suffix[i] + float64(c)*(k.margin-dan)
			active += c
			drow[n] -= float64(c)
			starts[i]++
		}
		var run float64 // negatives active with positive i
		for i, p := range ps {
			run += starts[i]
			drow[p.j] += run
		}
	}
	if active == 0 {
		return 0
	}
	scale(ws.w, 1/float64(active))
	return sum / float64(active)
}

// hard is batch-hard: per anchor the furthest positive and nearest negative.
func (k tripletKernel) hard(ws *workspace, b int, groups []int32) float64 {
	var sum float64
	var anchors int
	for a := range b {
		row := ws.s[a*b : (a+1)*b]
		p, n := -1, -1
		hp, hn := math.Inf(-1), math.Inf(1)
		for j, g := range groups {
			switch d := row[j]; {
			case j == a:
			case g == groups[a]:
				if d > hp {
					p, hp = j, d
				}
			case d < hn:
				n, hn = j, d
			}
		}
		if p < 0 || n < 0 {
			continue
		}
		anchors++
		if l := hp - hn + k.margin; l > 0 {
			sum += l
			ws.w[a*b+p]++
			ws.w[a*b+n]--
		}
	}
	if anchors == 0 {
		return 0
	}
	scale(ws.w, 1/float64(anchors))
	return sum / float64(anchors)
}

// semiHard follows TensorFlow Addons' triplet_semihard_loss: per ordered
// positive pair the nearest negative beyond the positive, else the furthest
// negative, else (no negatives) distance 0; mean over all positive pairs.
// Per anchor, with the positives sorted, a negative at distance x is a
// candidate for the positives closer than x, a prefix of them: it is filed
// under the last positive of that prefix, and a suffix minimum hands each
// positive its nearest candidate. O(b log b) per anchor.
func (k tripletKernel) semiHard(ws *workspace, b int, groups []int32) float64 {
	none := distRow{math.Inf(1), -1}
	less := func(x, y distRow) bool { return x.d < y.d || x.d == y.d && x.j < y.j }
	var sum float64
	var pairs int
	for a := range b {
		ps := positives(ws, b, a, groups)
		np := len(ps)
		if np == 0 {
			continue
		}
		pairs += np
		best := ws.best[:np]
		for i := range best {
			best[i] = none
		}
		far := distRow{math.Inf(-1), -1} // the negative with the largest d_an
		row, drow := ws.s[a*b:(a+1)*b], ws.w[a*b:(a+1)*b]
		for n, g := range groups {
			if g == groups[a] {
				continue
			}
			x := distRow{row[n], n}
			if x.d > far.d {
				far = x
			}
			// x is a candidate for the positives with d_ap < x.d, ps[:i].
			if i := countBelow(ps, x.d); i > 0 && less(x, best[i-1]) {
				best[i-1] = x
			}
		}
		near := none
		for i := np - 1; i >= 0; i-- {
			if less(best[i], near) {
				near = best[i]
			}
			n := near
			if n.j < 0 {
				n = far
			}
			dan := 0.0
			if n.j >= 0 {
				dan = n.d
			}
			if l := ps[i].d - dan + k.margin; l > 0 {
				sum += l
				drow[ps[i].j]++
				if n.j >= 0 {
					drow[n.j]--
				}
			}
		}
	}
	if pairs == 0 {
		return 0
	}
	scale(ws.w, 1/float64(pairs))
	return sum / float64(pairs)
}

func scale(x []float64, f float64) {
	for i := range x {
		x[i] *= f
	}
}
