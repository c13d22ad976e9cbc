//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAsm reports whether the AVX2/FMA micro-kernel can run on this CPU.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 is the AVX2/FMA micro-kernel, see kernel_amd64.s.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32, m int)

// kernelAsm adapts kernel6x16 to the kernel signature, checking the bounds
// the assembly relies on.
func kernelAsm(k int, a, b, c []float32, ldc int, alpha, beta float32, m int) {
	_ = a[(m+mr-1)/mr*mr*k-1]
	_ = b[k*nr-1]
	_ = c[(m-1)*ldc+nr-1]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta, m)
}

// packA6 and packB16 are the AVX2 transposing packers, see kernel_amd64.s
// and their callers packA and packB.
//
//go:noescape
func packA6(n int, a *float32, lda int, dst *float32)

//go:noescape
func packB16(n int, b *float32, ldb int, dst *float32)

// copyA6 and copyB16 are the non-transposing packers, see kernel_amd64.s.
//
//go:noescape
func copyA6(n int, a *float32, lda int, dst *float32)

//go:noescape
func copyB16(n int, b *float32, ldb int, dst *float32)

// fmaPeak measures FMA throughput for BenchmarkPeak, see kernel_amd64.s.
func fmaPeak(n int)
