package trainer

import "math"

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
	var anchors int
	for i, gi := range groups {
		for j, gj := range groups {
			if j != i && gj == gi {
				anchors++
				break
			}
		}
	}
	clear(ws.w)
	if anchors == 0 {
		return 0
	}
	inv := 1 / k.tau
	gScale := 1 / (float64(anchors) * k.tau)
	logQ := ws.logQ
	var sum float64
	for i, gi := range groups {
		// Row i of W holds the row's exponentials, then g_i·.
		srow, wrow := ws.s[i*b:(i+1)*b], ws.w[i*b:(i+1)*b]
		var nPos int
		var posSum float64 // Σ over positives of the logits
		for a, g := range groups {
			if g == gi && a != i {
				nPos++
				posSum += srow[a] * inv
				if logQ != nil {
					posSum -= logQ[a]
				}
			}
		}
		if nPos == 0 {
			continue
		}
		top := math.Inf(-1) // the largest logit
		for a, s := range srow {
			if a == i {
				continue
			}
			v := s * inv
			if logQ != nil {
				v -= logQ[a]
			}
			top = max(top, v)
		}
		var z float64
		for a, s := range srow {
			if a != i {
				v := s * inv
				if logQ != nil {
					v -= logQ[a]
				}
				e := math.Exp(v - top)
				wrow[a] = e
				z += e
			}
		}
		sum += top + math.Log(z) - posSum/float64(nPos)
		pScale, posW := gScale/z, gScale/float64(nPos)
		for a, g := range groups {
			wrow[a] *= pScale
			if g == gi {
				wrow[a] -= posW
			}
		}
		wrow[i] = 0
	}
	return sum / float64(anchors)
}
