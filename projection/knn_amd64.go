package projection

//go:noescape
func knnKernelAVX2(a *float32, d int, nq *float32, thr *float32, b *float32, nc *float32, np int, out *float32, masks *uint64)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// haveAVX2FMA reports whether the CPU and OS support AVX2 and FMA, which the
// assembly distance kernel needs.
var haveAVX2FMA = detectAVX2FMA()

func detectAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled by the OS
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// knnKernel computes the distances and masks described at knnKernelGo, in
// AVX2 when the CPU has it.
func knnKernel(a []float32, d int, nq, thr *[4]float32, b, nc []float32, np int, out []float32, masks []uint64) {
	if !haveAVX2FMA || forceGoKernel {
		knnKernelGo(a, d, nq, thr, b, nc, np, out, masks)
		return
	}
	if np == 0 {
		return
	}
	_ = a[4*d-1]
	_ = b[np*16*d-1]
	_ = nc[np*16-1]
	_ = out[np*64-1]
	_ = masks[np-1]
	knnKernelAVX2(&a[0], d, &nq[0], &thr[0], &b[0], &nc[0], np, &out[0], &masks[0])
}
