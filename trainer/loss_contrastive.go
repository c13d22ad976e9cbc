package trainer

import "math"

// contrastiveKernel is the margin contrastive loss of Hadsell, Chopra &
// LeCun (2006), balanced over positive and negative pairs:
//
//	L = 1/|pos| Σ_{i<j pos} ½·d_ij²  +  1/|neg| Σ_{i<j neg} ½·max(0, m − d_ij)²
//
// Balancing keeps the pull on positives when they are few (two views of an
// item among 255 negatives). The positive term is smooth in d²; the
// negative term's gradient −(m − d)/d·(z_i − z_j) has no direction at d = 0
// and uses the subgradient 0 there.
type contrastiveKernel struct{ margin float64 }

func (k contrastiveKernel) eval(ws *workspace, b int, groups []int32) float64 {
	var nPos, nNeg int
	for i := range b {
		for j := i + 1; j < b; j++ {
			if groups[i] == groups[j] {
				nPos++
			} else {
				nNeg++
			}
		}
	}
	var posScale, negScale float64 // 1/|pos|, 1/|neg|; 0 drops an empty term
	if nPos > 0 {
		posScale = 1 / float64(nPos)
	}
	if nNeg > 0 {
		negScale = 1 / float64(nNeg)
	}
	m, w := k.margin, ws.w
	var posSum, negSum float64
	for i := range b {
		row := w[i*b : (i+1)*b]
		clear(row[:i+1]) // each pair once, in the upper triangle
		for j := i + 1; j < b; j++ {
			d2 := ws.dist2(b, i, j)
			var c float64 // dL/d(d_ij²)
			if groups[i] == groups[j] {
				posSum += d2
				c = 0.5 * posScale
			} else if d := math.Sqrt(d2); d < m {
				h := m - d
				negSum += h * h
				if d > 0 {
					c = -0.5 * h / d * negScale
				}
			}
			row[j] = -2 * c
		}
	}
	setDiagonal(w, ws.vec1, ws.vec2, b)
	return 0.5 * (posSum*posScale + negSum*negScale)
}
