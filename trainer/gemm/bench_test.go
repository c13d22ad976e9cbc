package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchShapes are the trainer's products: the MLP 784-256-128-32 at batch
// 256 (forward Y = X·W with W stored in×out, or X·Wᵀ with W stored out×in;
// backward dW = Xᵀ·dY and dX = dY·Wᵀ), the losses' similarity matrix Z·Zᵀ
// and its gradients G·Z and Gᵀ·Z, the metrics' covariance Zᵀ·Z over 10000
// embeddings and kNN scoring of 2000 queries against 10000 references.
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"fwd1_XWt_256x256x784", false, true, 256, 256, 784},
	{"fwd1_XW_256x256x784", false, false, 256, 256, 784},
	{"fwd2_256x128x256", false, true, 256, 128, 256},
	{"fwd3_256x32x128", false, true, 256, 32, 128},
	{"dW1_XtdY_784x256x256", true, false, 784, 256, 256},
	{"dX1_dYWt_256x784x256", false, true, 256, 784, 256},
	{"dX2_dYW_256x256x128", false, false, 256, 256, 128},
	{"sim_ZZt_256x256x32", false, true, 256, 256, 32},
	{"loss_GZ_256x32x256", false, false, 256, 32, 256},
	{"loss_GtZ_256x32x256", true, false, 256, 32, 256},
	{"sim_ZZt_512x512x32", false, true, 512, 512, 32},
	{"cov_ZtZ_32x32x10000", true, false, 32, 32, 10000},
	{"knn_2000x10000x32", false, true, 2000, 10000, 32},
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per call) for the assembly kernel
// on one thread and on all threads, and for the pure-Go kernel on one thread.
func BenchmarkSgemm(b *testing.B) {
	defer SetThreads(0)
	modes := []struct {
		name    string
		asm     bool
		threads int
	}{
		{"asm/threads=1", true, 1},
		{fmt.Sprintf("asm/threads=%d", runtime.GOMAXPROCS(0)), true, 0},
		{"go/threads=1", false, 1},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = s.n, s.k
		}
		a, bm := randSlice(rng, ar*ac), randSlice(rng, br*bc)
		c := make([]float32, s.m*s.n)
		for _, md := range modes {
			if md.asm && !hasAsm {
				continue
			}
			b.Run(s.name+"/"+md.name, func(b *testing.B) {
				SetThreads(md.threads)
				b.ReportAllocs()
				for range 3 { // warm the packing buffers of caller and workers
					sgemm(md.asm, s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bm, bc, 0, c, s.n)
				}
				for b.Loop() {
					sgemm(md.asm, s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bm, bc, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// BenchmarkCrossover times products around parMinWork split into 1 and 2
// parts (whatever the threshold says), to place the single-thread switch.
func BenchmarkCrossover(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, s := range [][3]int{{256, 32, 128}, {256, 64, 128}, {128, 128, 128}, {256, 128, 128}, {256, 256, 64}, {256, 256, 128}, {256, 256, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, bm, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		for _, parts := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/parts=%d", m, n, k, parts), func(b *testing.B) {
				p := problem{asm: hasAsm, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: bm, ldb: n, c: c, ldc: n}
				for b.Loop() {
					runParts(&p, parts)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// BenchmarkKernel times the micro-kernel alone on L1-resident panels: the
// ceiling for the whole GEMM on one core.
func BenchmarkKernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const k = 256
	a, bp, c := randSlice(rng, k*mr), randSlice(rng, k*nr), make([]float32, mr*nr)
	for _, asm := range kernels() {
		kern := kernel(kernelGo)
		if asm {
			kern = kernelAsm
		}
		b.Run(kernelName(asm), func(b *testing.B) {
			for b.Loop() {
				kern(k, a, bp, c, nr, 1, 1, mr)
			}
			b.ReportMetric(2*mr*nr*k*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
		})
	}
}

// BenchmarkPeak measures the machine's AVX2 FMA throughput (no memory
// traffic) on one goroutine and on GOMAXPROCS goroutines, the "peak" that
// BenchmarkSgemm figures are a fraction of. On a shared machine it also
// shows how much of the cores other work left to the run.
func BenchmarkPeak(b *testing.B) {
	if !hasAsm {
		b.Skip("no AVX2/FMA")
	}
	const iters = 1 << 16
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var wg sync.WaitGroup
			for b.Loop() {
				for range threads - 1 {
					wg.Go(func() { fmaPeak(iters) })
				}
				fmaPeak(iters)
				wg.Wait()
			}
			b.ReportMetric(192*iters*float64(threads)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
		})
	}
}

// BenchmarkWake is the ping-pong behind handOff: a caller computes alone
// for 100 µs, wakes a worker blocked on a channel and computes 80 µs more
// while the worker does 80 µs of its own, then waits for it. It reports the
// median delay from the send to the worker's start ("send": the worker
// waits in the caller's runnext slot; "send+yield": handOff's one yield
// after the send) and the share of rounds in which the worker started
// before the caller's 80 µs were over.
func BenchmarkWake(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs GOMAXPROCS >= 2")
	}
	for _, yield := range []bool{false, true} {
		name := "send"
		if yield {
			name = "send+yield"
		}
		b.Run(name, func(b *testing.B) {
			jobs := make(chan time.Time)
			started := make(chan time.Duration, 1)
			done := make(chan struct{})
			defer close(jobs)
			go func() {
				for t := range jobs {
					started <- time.Since(t)
					busy(80 * time.Microsecond)
					done <- struct{}{}
				}
			}()
			var delays []time.Duration
			early := 0
			for b.Loop() {
				busy(100 * time.Microsecond)
				jobs <- time.Now()
				if yield {
					handOff()
				}
				busy(80 * time.Microsecond)
				<-done
				d := <-started
				delays = append(delays, d)
				if d < 80*time.Microsecond {
					early++
				}
			}
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Nanoseconds())/1e3, "µs-to-start")
			b.ReportMetric(100*float64(early)/float64(len(delays)), "%overlapped")
		})
	}
}

var busySink float64

// busy computes for about d: a product's part keeps its core busy, it does
// not wait.
func busy(d time.Duration) {
	t0, x := time.Now(), 1.0
	for time.Since(t0) < d {
		for range 100 {
			x = x*1.0000001 + 1e-9
		}
	}
	busySink += x
}
