//go:build !amd64 || purego

package gemm

// hasAsm is false: this build has no assembly micro-kernel.
const hasAsm = false

// kernelAsm is never called when hasAsm is false; it exists so that the
// driver compiles identically on every platform.
func kernelAsm(k int, a, b, c []float32, ldc int, alpha, beta float32, m int) {
	kernelGo(k, a, b, c, ldc, alpha, beta, m)
}

// The assembly packers are never called when hasAsm is false.
func packA6(n int, a *float32, lda int, dst *float32)  { panic("gemm: no assembly packer") }
func packB16(n int, b *float32, ldb int, dst *float32) { panic("gemm: no assembly packer") }
func copyA6(n int, a *float32, lda int, dst *float32)  { panic("gemm: no assembly packer") }
func copyB16(n int, b *float32, ldb int, dst *float32) { panic("gemm: no assembly packer") }
func fmaPeak(n int)                                    { panic("gemm: no assembly") }
