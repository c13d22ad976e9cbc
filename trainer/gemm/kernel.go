package gemm

// Register block of the micro-kernels: each call computes an mr×nr tile of C
// from a packed mr×k micro-panel of op(A) and a packed k×nr micro-panel of
// op(B). 6×16 fills 12 of the 16 ymm registers with accumulators.
const (
	mr = 6
	nr = 16
)

// kernel computes the m×nr block of C at c (m >= 1, row stride ldc) as
// C = alpha·A·B + beta·C, where b is a packed k×nr micro-panel and a holds
// ⌈m/mr⌉ packed mr×k micro-panels, one per tile of mr rows. beta == 0
// ignores C's contents.
type kernel func(k int, a, b, c []float32, ldc int, alpha, beta float32, m int)

// kernelGo is the portable kernel, used when the CPU has no AVX2/FMA, in
// purego builds, and by tests to check the shared packing path.
func kernelGo(k int, a, b, c []float32, ldc int, alpha, beta float32, m int) {
	for i := 0; i < m; i += mr {
		tileGo(k, a[i*k:], b, c[i*ldc:], ldc, alpha, beta, min(mr, m-i))
	}
}

// tileGo computes the first rows rows of one mr×nr tile. It walks the tile
// in 2×4 sub-blocks so that the accumulators stay in registers (the amd64
// compiler has 15 usable float registers).
func tileGo(k int, a, b, c []float32, ldc int, alpha, beta float32, rows int) {
	var acc [mr * nr]float32
	a = a[:k*mr]
	b = b[:k*nr]
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := 0; p < k; p++ {
				ap := a[p*mr+i : p*mr+i+2 : p*mr+i+2]
				bp := b[p*nr+j : p*nr+j+4 : p*nr+j+4]
				a0, a1 := ap[0], ap[1]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			r0 := acc[i*nr+j : i*nr+j+4 : i*nr+j+4]
			r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
			r1 := acc[(i+1)*nr+j : (i+1)*nr+j+4 : (i+1)*nr+j+4]
			r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
		}
	}
	storeTile(&acc, c, ldc, alpha, beta, rows, nr)
}

// storeTile writes the top-left rows×cols corner of an accumulated tile to C:
// C = alpha·acc + beta·C, never reading C when beta == 0.
func storeTile(acc *[mr * nr]float32, c []float32, ldc int, alpha, beta float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		ci := c[i*ldc : i*ldc+cols]
		ri := acc[i*nr : i*nr+cols]
		if beta == 0 {
			for j := range ci {
				ci[j] = alpha * ri[j]
			}
		} else {
			for j := range ci {
				ci[j] = alpha*ri[j] + beta*ci[j]
			}
		}
	}
}
