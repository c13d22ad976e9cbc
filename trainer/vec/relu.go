package vec

import "math"

// Relu clamps h's negative values (and −0, and NaNs with the sign bit) to
// +0, in place, without branches: the sign bit, smeared over the word,
// masks the value out.
func Relu(h []float32) {
	done := asmLen(len(h))
	if done > 0 {
		reluAVX2(&h[0], done)
	}
	for i := done; i < len(h); i++ {
		u := math.Float32bits(h[i])
		h[i] = math.Float32frombits(u &^ uint32(int32(u)>>31))
	}
}

// ReluBackward zeroes g where the ReLU's output a (non-negative, at least
// len(g) values) is zero: a's bits as a signed integer are positive exactly
// when a > 0, and negated that is the sign bit, smeared into a mask.
func ReluBackward(g, a []float32) {
	a = a[:len(g)]
	done := asmLen(len(g))
	if done > 0 {
		reluBackwardAVX2(&g[0], &a[0], done)
	}
	for i := done; i < len(g); i++ {
		mask := uint32(-int32(math.Float32bits(a[i])) >> 31)
		g[i] = math.Float32frombits(math.Float32bits(g[i]) & mask)
	}
}
