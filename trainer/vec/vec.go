// Package vec holds the trainer's element-wise kernels that run over every
// parameter, activation or logit each step: Adam's update, the ReLU and its
// mask, the bias gradients' sums (float32: Add); the softmax rows' scaling,
// maximum and exponentials (float64: Scale, Max, ExpShift) and the
// conversions between the two (Widen, Narrow). On amd64 with AVX2 they run eight lanes at a time in
// assembly; elsewhere, and for the tail, the Go loop does the same
// arithmetic in the same order, so both give the same bits (no fused
// multiply-adds, IEEE square root and division).
package vec

// asmLen is how many of n values the assembly takes: the largest multiple
// of 8 not above n when the CPU has AVX2, else none. The Go loop does the
// rest.
func asmLen(n int) int {
	if hasAVX2 {
		return n &^ 7
	}
	return 0
}

// sameLen panics, naming the function, unless n and m are equal.
func sameLen(name string, n, m int) {
	if n != m {
		panic("vec: " + name + " slices of different lengths")
	}
}

// AdamParams are the scalars of one Adam step (see Adam).
type AdamParams struct {
	B1, C1     float32 // β1 and 1−β1
	B2, C2     float32 // β2 and 1−β2
	L2         float32 // L2 weight decay added to the gradient (Adam)
	Shrink     float32 // p's factor before the update: 1 − lr·decay (AdamW), else 1
	StepSize   float32 // lr / (1 − β1ᵗ)
	InvSqrtBC2 float32 // 1 / sqrt(1 − β2ᵗ)
	Eps        float32
}

// Adam applies one Adam step to the parameters p with gradients g and
// moments m, v (equal lengths), in place:
//
//	g' = g + L2·p;  m = B1·m + C1·g';  v = B2·v + (C1·g')·g' with C2
//	p  = Shrink·p − StepSize·m / (sqrt(v)·InvSqrtBC2 + Eps)
//
// It panics if the slices differ in length.
func Adam(p, g, m, v []float32, a AdamParams) {
	n := len(p)
	sameLen("Adam", len(g), n)
	sameLen("Adam", len(m), n)
	sameLen("Adam", len(v), n)
	done := asmLen(n)
	if done > 0 {
		c := [9]float32{a.B1, a.C1, a.B2, a.C2, a.L2, a.Shrink, a.StepSize, a.InvSqrtBC2, a.Eps}
		adamAVX2(&p[0], &g[0], &m[0], &v[0], done, &c)
	}
	adamGo(p[done:], g[done:n], m[done:n], v[done:n], a)
}

// adamGo is Adam in Go, operation for operation as the assembly.
func adamGo(p, g, m, v []float32, a AdamParams) {
	// The conversions round each product, as the spec lets a compiler
	// fuse x*y + z otherwise (GOAMD64=v3 does): the assembly never fuses.
	for i := range p {
		pi := p[i]
		gi := g[i] + float32(a.L2*pi)
		mi := float32(a.B1*m[i]) + float32(a.C1*gi)
		vi := float32(a.B2*v[i]) + float32(float32(a.C2*gi)*gi)
		m[i], v[i] = mi, vi
		denom := float32(sqrt32(vi)*a.InvSqrtBC2) + a.Eps
		p[i] = float32(pi*a.Shrink) - float32(a.StepSize*mi)/denom
	}
}
