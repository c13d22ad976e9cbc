package vec

import "math"

// The constants of ExpShift, in the order expShiftAVX2 reads them.
const (
	expLog2E = 1.4426950408889634
	// ln 2 = expLn2Hi + expLn2Lo, expLn2Hi with 32 trailing zero bits, so
	// k·expLn2Hi is exact for the |k| ≤ 1100 the domain allows.
	expLn2Hi = 6.93147180369123816490e-01
	expLn2Lo = 1.90821492927058770002e-10
	// Below this e^x is not normal: the result is 0. Above expMax, +Inf.
	expMin = -708.0
	expMax = 709.0
	// 2^52 + 1023: k + this holds the biased exponent k + 1023 in its
	// low bits, for a whole k.
	expBias = 1<<52 + 1023
)

// expCoef are 1/12!, 1/11!, ..., 1/2!: e^r's series from its top, for
// Horner's rule, to 2e-16 relative for |r| ≤ ln2/2.
var expCoef = [11]float64{
	1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
	1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5,
}

// expConstsLen is the length of expConsts: each of its 21 constants four
// times over, one AVX2 register's worth.
const expConstsLen = 4 * (10 + len(expCoef))

// expConsts is expShiftAVX2's table: log2 e, ln2 hi and lo, 1, min, max,
// +Inf, the bias, expCoef, then the bounds the assembly clamps x to before
// reducing it (min−1 and max+1: outside [min, max] the result is 0 or +Inf
// whatever x is, and the clamp keeps the series finite, −Inf included),
// each four times over.
var expConsts = func() (c [expConstsLen]float64) {
	one := append([]float64{expLog2E, expLn2Hi, expLn2Lo, 1, expMin, expMax, math.Inf(1), expBias}, expCoef[:]...)
	one = append(one, expMin-1, expMax+1)
	for i := range c {
		c[i] = one[i/4]
	}
	return c
}()

// ExpShift sets dst[i] = e^(src[i]−shift) and returns their sum (dst and
// src equal in length; they may be the same slice). It is the softmax's
// exponential: within 1e-15 of math.Exp, 0 below e^−708, +Inf above e^709,
// NaN for NaN. On amd64 with AVX2 it runs sixteen values at a time; the
// Go loop does the same arithmetic in the same order (no fused
// multiply-adds), the sum kept in eight lanes too, so both give the same
// bits.
//
// It panics if the slices differ in length.
func ExpShift(dst, src []float64, shift float64) float64 {
	n := len(src)
	sameLen("ExpShift", len(dst), n)
	var lanes [8]float64
	done := asmLen(n)
	if done > 0 {
		expShiftAVX2(&dst[0], &src[0], done, shift, &expConsts, &lanes)
	}
	for i := done; i < n; i++ {
		e := expOne(src[i] - shift)
		dst[i] = e
		lanes[i&7] += e
	}
	return sumLanes(&lanes)
}

// sumLanes adds ExpShift's lanes up, in the one order both paths share.
func sumLanes(l *[8]float64) float64 {
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

// expOne is e^x with expShiftAVX2's bits: the same reduction and series,
// operation for operation. The assembly clamps x and folds the ends into
// the scale instead of branching, which gives the same 0 and +Inf.
func expOne(x float64) float64 {
	switch {
	case x < expMin:
		return 0
	case x > expMax:
		return math.Inf(1)
	}
	// The conversions round each product, as the spec lets a compiler fuse
	// x*y + z otherwise: the assembly never fuses.
	k := math.RoundToEven(float64(x * expLog2E))
	r := (x - float64(k*expLn2Hi)) - float64(k*expLn2Lo)
	p := expCoef[0]
	for _, c := range expCoef[1:] {
		p = float64(p*r) + c
	}
	p = float64(p*r) + 1
	p = float64(p*r) + 1
	// For NaN the exponent's bits are garbage, but p is NaN already.
	scale := math.Float64frombits(math.Float64bits(k+expBias) << 52)
	return p * scale
}
