//go:build !amd64

package projection

// powBatch sets p[i] = x[i]^b for x[i] ≥ 0 as powB does.
func powBatch(p, x []float64, b float64) {
	for i, v := range x {
		p[i] = powB(v, b)
	}
}
