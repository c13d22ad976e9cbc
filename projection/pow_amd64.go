package projection

import "math"

//go:noescape
func powBAVX2(x, out *float64, n int, b float64, c *[powConsts]float64)

const powConsts = 27

// powAVX2Consts are powBAVX2's constants, in the order it reads them.
var powAVX2Consts = [powConsts]float64{
	math.Float64frombits(1<<52 - 1), 1, math.Sqrt2, 1<<52 + 1023,
	0.5, 0.5, 0.5, 0.5,
	1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3,
	2 * math.Log2E, math.Ln2,
	1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6,
	1 << 52,
}

// powBatch sets p[i] = x[i]^b for x[i] ≥ 0 as powB does, four at a time in
// AVX2 where the CPU has it.
func powBatch(p, x []float64, b float64) {
	n := len(x)
	whole := n &^ 3
	if !haveAVX2FMA || forceGoKernel || math.Abs(b) > 2 {
		whole = 0
	}
	if whole > 0 {
		_ = p[whole-1]
		powBAVX2(&x[0], &p[0], whole, b, &powAVX2Consts)
	}
	for i := whole; i < n; i++ {
		p[i] = powB(x[i], b)
	}
	for i, v := range x[:whole] {
		// Beyond these the kernel's exponent would over- or underflow
		// (|b| ≤ 2); zero and NaN land here too.
		if !(v >= 0x1p-500 && v <= 0x1p500) {
			p[i] = powB(v, b)
		}
	}
}
