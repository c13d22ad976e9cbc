package trainer

import (
	"math"

	"github.com/contrastive-explorer/explorer/trainer/gemm"
	"github.com/contrastive-explorer/explorer/trainer/vec"
)

// softmaxKernel is the InfoNCE family shared by NT-Xent (Chen et al. 2020)
// and SupCon's L_out (Khosla et al. 2020). For anchor i with positives P(i),
//
//	ℓ_i = −1/|P(i)| Σ_{p∈P(i)} log( exp(s_ip/τ) / Σ_{a≠i} exp(s_ia/τ) )
//	    = LSE_{a≠i}(s_ia/τ) − 1/|P(i)| Σ_{p∈P(i)} s_ip/τ,
//
// and L is the mean of ℓ_i over the A anchors with |P(i)| > 0. Rows without
// a positive still serve as negatives of the others. The gradient w.r.t. the
// ordered similarity s_ia is g_ia = (softmax_i(a) − [a∈P(i)]/|P(i)|)/(A·τ),
// and since s_ia = z_i·z_a it reaches both rows: W = g exactly. The
// log-sum-exp subtracts the row maximum, so no exponent exceeds 0.
type softmaxKernel struct{ tau float64 }

func (k softmaxKernel) eval(ws *workspace, b int, groups []int32) float64 {
	ws.groupRows(groups)
	var anchors int
	for i := range groups {
		if sp := ws.span[i]; sp[1]-sp[0] > 1 {
			anchors++
		}
	}
	if anchors == 0 {
		clear(ws.w)
		return 0
	}
	ws.softmax = softmaxRows{ws: ws, b: b, groups: groups, inv: 1 / k.tau, gScale: 1 / (float64(anchors) * k.tau)}
	// Rows are independent: they are shared between the cores, each row's
	// ℓ_i kept in vec1 and summed here in row order, so the loss has the
	// same bits however the rows were split.
	gemm.For(b, softmaxMinRows, &ws.softmax)
	var sum float64
	for _, l := range ws.vec1[:b] {
		sum += l
	}
	return sum / float64(anchors)
}

// softmaxMinRows is the fewest rows of a batch one goroutine takes (each
// row is a few microseconds for batches of 256).
const softmaxMinRows = 32

// softmaxRows computes the rows of softmaxKernel.eval: for each row i, ℓ_i
// (0 for a row without positives) into vec1[i] and row i of W.
type softmaxRows struct {
	ws          *workspace
	b           int
	groups      []int32
	inv, gScale float64
}

func (r *softmaxRows) Range(lo, hi int) {
	ws, b, inv := r.ws, r.b, r.inv
	logQ := ws.logQ
	for i := lo; i < hi; i++ {
		// Row i of W holds the row's logits, their exponentials, then g_i·.
		srow, wrow := ws.s[i*b:(i+1)*b], ws.w[i*b:(i+1)*b]
		sp := ws.span[i]
		group := ws.members[sp[0]:sp[1]] // the row's positives, and itself
		nPos := len(group) - 1
		if nPos == 0 {
			ws.vec1[i] = 0
			clear(wrow)
			continue
		}
		vec.Scale(wrow, srow, inv)
		if logQ != nil {
			for a, q := range logQ[:b] {
				wrow[a] -= q
			}
		}
		// The anchor is not its own candidate: its logit becomes −Inf, so
		// the maximum passes over it and its exponential is 0. A NaN is
		// passed over by the maximum too and reaches the loss through the
		// exponentials.
		wrow[i] = math.Inf(-1)
		top := vec.Max(wrow)
		var posSum float64 // Σ over positives of the logits, in row order
		for _, a := range group {
			switch {
			case int(a) == i:
			case logQ != nil: // as the logit was made: s·inv, then − logQ
				posSum += srow[a] * inv
				posSum -= logQ[a]
			default:
				posSum += wrow[a]
			}
		}
		z := vec.ExpShift(wrow, wrow, top)
		ws.vec1[i] = top + math.Log(z) - posSum/float64(nPos)
		pScale, posW := r.gScale/z, r.gScale/float64(nPos)
		vec.Scale(wrow, wrow, pScale)
		for _, a := range group {
			wrow[a] -= posW
		}
		wrow[i] = 0
	}
}
