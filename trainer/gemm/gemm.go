// Package gemm is the float32 matrix-multiply core of the trainer.
//
// All matrices are dense and row-major. Sgemm follows the BLAS convention
// C = alpha·op(A)·op(B) + beta·C, where op(X) is X or its transpose.
//
// The implementation is GotoBLAS/BLIS style: blocks of op(A) and op(B) are
// packed into contiguous micro-panels (so all four transpose combinations
// share one inner kernel), and a 6×16 register-blocked micro-kernel, in
// AVX2/FMA assembly on amd64 with a pure-Go fallback, computes tiles of C.
// Large products are split between the caller and a small pool of worker
// goroutines, started on first use and blocked on a channel while idle (the
// cores are shared, so nothing spins); SetThreads(1) stops them.
package gemm

// Cache blocking. A kc×nr micro-panel of op(B) (16 KiB) stays in L1 while
// the kernel sweeps an mc×kc block of op(A) (up to 144 KiB) held in L2; the
// kc×nc block of op(B) (up to 4 MiB) streams from L2/L3. Block sizes are
// balanced (k = 784 runs as 4×196, not 3×256 + 16) so no block is a sliver.
const (
	kcMax = 256
	mcMax = 144
	ncMax = 4096
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices: op(A) is m×k, op(B) is k×n and C is m×n. lda, ldb and ldc are the
// row strides of A, B and C as stored (A is k×m when transA, B is n×k when
// transB). When beta is 0, C is overwritten and its previous contents
// (even NaN) are ignored; when alpha is 0 or k is 0, A and B are not read
// and C is only scaled by beta. Sgemm panics if a dimension is negative or a
// slice is too short for the shape it is given: that is a programmer error.
//
// Large products run on up to Threads() goroutines; Sgemm is safe for
// concurrent use and, once warm, allocates nothing.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkShapes(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemm(hasAsm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkShapes(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(ac, 1) || ldb < max(bc, 1) || ldc < max(n, 1) {
		panic("gemm: leading dimension too small")
	}
	if ar > 0 && ac > 0 && len(a) < (ar-1)*lda+ac {
		panic("gemm: a too short")
	}
	if br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc {
		panic("gemm: b too short")
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic("gemm: c too short")
	}
}

// sgemm is Sgemm after the shape checks, with the micro-kernel chosen by
// the caller (asm false forces the pure-Go kernel) so tests can exercise both.
func sgemm(asm bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	p := problem{
		asm: asm, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	run(&p)
}

// scale sets C = beta·C, writing zeros (not 0·NaN) when beta is 0.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// problem is one Sgemm call, or the part of it given to one goroutine.
// a, b and c start at the top-left element of op(A), op(B) and C.
type problem struct {
	asm            bool
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// buffers are the packing buffers of one goroutine; they grow to the largest
// block seen and are then reused, so warm calls allocate nothing.
type buffers struct {
	a, b []float32
	tmp  [mr * nr]float32 // edge tiles narrower than nr are computed here
}

func (w *buffers) grow(na, nb int) {
	if len(w.a) < na {
		w.a = make([]float32, na)
	}
	if len(w.b) < nb {
		w.b = make([]float32, nb)
	}
}

// blockSize splits x into ⌈x/limit⌉ blocks of nearly equal size rounded up to
// a multiple of unit (limit must be a multiple of unit).
func blockSize(x, limit, unit int) int {
	blocks := (x + limit - 1) / limit
	s := (x + blocks - 1) / blocks
	return (s + unit - 1) / unit * unit
}

// serial computes p on the calling goroutine with the packing buffers w.
// Loop order is the BLIS one: jc (nc columns of C) → pc (kc of k, pack
// op(B)) → ic (mc rows, pack op(A)) → micro-tiles.
func (p *problem) serial(w *buffers) {
	kern := kernel(kernelGo)
	if p.asm {
		kern = kernelAsm
	}
	kc := blockSize(p.k, kcMax, 1)
	mc := blockSize(p.m, mcMax, mr)
	nc := blockSize(p.n, ncMax, nr)
	w.grow(mc*kc, nc*kc)
	for jc := 0; jc < p.n; jc += nc {
		ncc := min(nc, p.n-jc)
		for pc := 0; pc < p.k; pc += kc {
			kcc := min(kc, p.k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1 // later k-blocks accumulate onto the first
			}
			boff := pc*p.ldb + jc
			if p.transB {
				boff = jc*p.ldb + pc
			}
			packB(p.asm, p.transB, kcc, ncc, p.b[boff:], p.ldb, w.b)
			for ic := 0; ic < p.m; ic += mc {
				mcc := min(mc, p.m-ic)
				aoff := ic*p.lda + pc
				if p.transA {
					aoff = pc*p.lda + ic
				}
				packA(p.asm, p.transA, mcc, kcc, p.a[aoff:], p.lda, w.a)
				macroKernel(kern, mcc, ncc, kcc, p.alpha, beta, w, p.c[ic*p.ldc+jc:], p.ldc)
			}
		}
	}
}

// macroKernel multiplies the packed mc×kc block in w.a by the packed kc×nc
// block in w.b into C, one nr-column strip at a time: the kc×nr B
// micro-panel stays in L1 while the A block streams from L2.
func macroKernel(kern kernel, mc, nc, kc int, alpha, beta float32, w *buffers, c []float32, ldc int) {
	for jr := 0; jr < nc; jr += nr {
		bp := w.b[jr*kc : jr*kc+kc*nr]
		if nc-jr >= nr {
			kern(kc, w.a, bp, c[jr:], ldc, alpha, beta, mc)
			continue
		}
		// Edge strip: compute full tiles into w.tmp, store the real columns.
		for ir := 0; ir < mc; ir += mr {
			rows := min(mr, mc-ir)
			kern(kc, w.a[ir*kc:], bp, w.tmp[:], nr, 1, 0, rows)
			storeTile(&w.tmp, c[ir*ldc+jr:], ldc, alpha, beta, rows, nc-jr)
		}
	}
}

// reference is the plain triple loop, kept as the oracle for tests.
func reference(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
