//go:build !amd64

package projection

const haveAVX2FMA = false

func knnKernel(a []float32, d int, nq, thr *[4]float32, b, nc []float32, np int, out []float32, masks []uint64) {
	knnKernelGo(a, d, nq, thr, b, nc, np, out, masks)
}
