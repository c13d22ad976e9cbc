package vec

import "math"

// The softmax rows' passes (scaling a row of logits, finding its maximum,
// the conversions between the products' float32 and the loss's float64)
// and the bias gradients' column sums. Each is exact per element (a
// product, a comparison, a conversion rounding to nearest even, a sum), so
// the assembly and the Go loop give the same bits.

var negInf = math.Inf(-1)

// Scale sets dst[i] = src[i]·c (dst and src equal in length; they may be
// the same slice). It panics if the lengths differ.
func Scale(dst, src []float64, c float64) {
	n := len(src)
	sameLen("Scale", len(dst), n)
	done := asmLen(n)
	if done > 0 {
		scaleAVX2(&dst[0], &src[0], done, c)
	}
	for i := done; i < n; i++ {
		dst[i] = src[i] * c
	}
}

// Max returns the largest value of x that is not NaN, or −Inf when there
// is none (x empty or all NaN). Of equal values it returns one of them.
func Max(x []float64) float64 {
	var lanes [8]float64
	for i := range lanes {
		lanes[i] = negInf
	}
	done := asmLen(len(x))
	if done > 0 {
		maxAVX2(&x[0], done, &lanes)
	}
	top := negInf
	for _, v := range lanes {
		if v > top {
			top = v
		}
	}
	for _, v := range x[done:] {
		if v > top {
			top = v
		}
	}
	return top
}

// Widen sets dst[i] = float64(src[i]) (equal lengths; it panics if not).
func Widen(dst []float64, src []float32) {
	n := len(src)
	sameLen("Widen", len(dst), n)
	done := asmLen(n)
	if done > 0 {
		widenAVX2(&dst[0], &src[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] = float64(src[i])
	}
}

// Narrow sets dst[i] = float32(src[i]), rounded to nearest even (equal
// lengths; it panics if not).
func Narrow(dst []float32, src []float64) {
	n := len(src)
	sameLen("Narrow", len(dst), n)
	done := asmLen(n)
	if done > 0 {
		narrowAVX2(&dst[0], &src[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] = float32(src[i])
	}
}

// Add sets dst[i] += src[i] (float32, equal lengths; it panics if not).
func Add(dst, src []float32) {
	n := len(src)
	sameLen("Add", len(dst), n)
	done := asmLen(n)
	if done > 0 {
		addAVX2(&dst[0], &src[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] += src[i]
	}
}
