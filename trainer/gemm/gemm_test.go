package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// sentinel marks C's padding between n and ldc; Sgemm must leave it alone.
const sentinel = float32(-12345.5)

// kernels lists the micro-kernels this machine can run; the pure-Go one is
// always tested, through the same packing and threading code.
func kernels() []bool {
	if hasAsm {
		return []bool{true, false}
	}
	return []bool{false}
}

func kernelName(asm bool) string {
	if asm {
		return "asm"
	}
	return "go"
}

// operands holds one test problem with padded leading dimensions.
type operands struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

func newOperands(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *operands {
	o := &operands{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	o.lda, o.ldb, o.ldc = max(ac, 1)+pad, max(bc, 1)+pad, max(n, 1)+pad
	o.a = randSlice(rng, ar*o.lda)
	o.b = randSlice(rng, br*o.ldb)
	o.c = make([]float32, m*o.ldc)
	for i := range o.c {
		switch {
		case i%o.ldc >= n:
			o.c[i] = sentinel
		case beta == 0:
			o.c[i] = float32(math.NaN()) // must be ignored
		default:
			o.c[i] = rng.Float32()*2 - 1
		}
	}
	return o
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func abs32(s []float32) []float32 {
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(math.Abs(float64(v)))
	}
	return r
}

// check runs sgemm with the given kernel and compares it with reference.
// Both sum k products in float32, in different orders, so each is within
// γ·(|alpha|·Σ|a||b| + |beta|·|c|) of the exact value with γ ≈ (k+2)·ε;
// the tolerance is twice that, plus a hair for results near zero.
func (o *operands) check(t *testing.T, asm bool) {
	t.Helper()
	o.checkParts(t, asm, 0)
}

// checkParts is check with the product forced into parts pieces (0 lets
// Sgemm's threshold decide), so the threaded path is tested on sizes small
// enough for the race detector. m, n, k and alpha must be non-zero if parts
// is not 0.
func (o *operands) checkParts(t *testing.T, asm bool, parts int) {
	t.Helper()
	got := append([]float32(nil), o.c...)
	want := append([]float32(nil), o.c...)
	if parts == 0 {
		sgemm(asm, o.transA, o.transB, o.m, o.n, o.k, o.alpha, o.a, o.lda, o.b, o.ldb, o.beta, got, o.ldc)
	} else {
		p := problem{
			asm: asm, transA: o.transA, transB: o.transB,
			m: o.m, n: o.n, k: o.k, alpha: o.alpha, beta: o.beta,
			a: o.a, lda: o.lda, b: o.b, ldb: o.ldb, c: got, ldc: o.ldc,
		}
		runParts(&p, parts)
	}
	reference(o.transA, o.transB, o.m, o.n, o.k, o.alpha, o.a, o.lda, o.b, o.ldb, o.beta, want, o.ldc)
	mag := make([]float32, len(o.c))
	reference(o.transA, o.transB, o.m, o.n, o.k, 1, abs32(o.a), o.lda, abs32(o.b), o.ldb, 0, mag, o.ldc)
	eps := float64(math.Nextafter32(1, 2) - 1)
	gamma := 2 * float64(o.k+2) * eps
	bad := 0
	for i := range got {
		if i%o.ldc >= o.n {
			if got[i] != sentinel {
				t.Fatalf("C padding at %d overwritten: %v", i, got[i])
			}
			continue
		}
		cin := 0.0
		if o.beta != 0 {
			cin = math.Abs(float64(o.c[i]))
		}
		tol := gamma*(math.Abs(float64(o.alpha))*float64(mag[i])+math.Abs(float64(o.beta))*cin) + 1e-30
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= tol) { // also catches NaN
			if bad++; bad <= 3 {
				t.Errorf("C[%d,%d] = %v, want %v (tol %.3g)", i/o.ldc, i%o.ldc, got[i], want[i], tol)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d elements out of tolerance", bad, o.m*o.n)
	}
}

func transName(ta, tb bool) string {
	s := [2]string{"N", "T"}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	return s[b2i(ta)] + s[b2i(tb)]
}

func TestSgemmSmall(t *testing.T) {
	sizes := [][3]int{
		{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}, {1, 1, 1}, {1, 16, 1},
		{6, 16, 1}, {6, 16, 4}, {7, 17, 5}, {5, 15, 3}, {2, 33, 9},
		{17, 5, 63}, {13, 31, 2}, {12, 32, 257}, {30, 48, 17}, {63, 1, 5},
		{1, 63, 64},
	}
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.25}, {2, 0}, {0, 0.5}, {0, 0}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, asm := range kernels() {
		for _, s := range sizes {
			for _, tr := range [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, ab := range scalars {
					for _, pad := range []int{0, 3} {
						name := fmt.Sprintf("%s/%s/%dx%dx%d/a%v_b%v/pad%d", kernelName(asm), transName(tr[0], tr[1]), s[0], s[1], s[2], ab[0], ab[1], pad)
						t.Run(name, func(t *testing.T) {
							newOperands(rng, tr[0], tr[1], s[0], s[1], s[2], pad, ab[0], ab[1]).check(t, asm)
						})
					}
				}
			}
		}
	}
}

// TestSgemmBlocks covers products larger than one cache block in each
// dimension (mcMax, kcMax, several nr panels). Under the race detector only
// the assembly kernel runs these sizes: the pure-Go one shares all the
// blocking code and is checked on the small sizes.
func TestSgemmBlocks(t *testing.T) {
	sizes := [][3]int{
		{257, 33, 300}, // two k blocks, mc edge, nr edge
		{150, 70, 257}, // two mc blocks
		{20, 40, 784},  // the trainer's k: four balanced k blocks
		{5, 4100, 3},   // two nc blocks
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, asm := range kernels() {
		if raceEnabled && hasAsm && !asm {
			continue
		}
		for _, s := range sizes {
			for _, tr := range [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				ab := [2]float32{1, 0}
				pad := 0
				if tr[0] != tr[1] {
					ab, pad = [2]float32{0.75, -1.5}, 5
				}
				name := fmt.Sprintf("%s/%s/%dx%dx%d", kernelName(asm), transName(tr[0], tr[1]), s[0], s[1], s[2])
				t.Run(name, func(t *testing.T) {
					newOperands(rng, tr[0], tr[1], s[0], s[1], s[2], pad, ab[0], ab[1]).check(t, asm)
				})
			}
		}
	}
}

// TestSgemmParts splits products between goroutines along m (m >= n) and
// along n, into 2 and 3 parts (uneven, with edge tiles in several parts),
// whatever the size threshold says.
func TestSgemmParts(t *testing.T) {
	sizes := [][3]int{{97, 40, 70}, {40, 131, 300}, {7, 3, 9}}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, asm := range kernels() {
		for _, s := range sizes {
			for _, tr := range [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, parts := range []int{2, 3} {
					name := fmt.Sprintf("%s/%s/%dx%dx%d/parts=%d", kernelName(asm), transName(tr[0], tr[1]), s[0], s[1], s[2], parts)
					t.Run(name, func(t *testing.T) {
						newOperands(rng, tr[0], tr[1], s[0], s[1], s[2], 2, 1.5, 0.5).checkParts(t, asm, parts)
					})
				}
			}
		}
	}
}

// TestSgemmRandom checks random shapes, transposes, scalars and padding.
func TestSgemmRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 60 {
		m, n, k := rng.IntN(70), rng.IntN(70), rng.IntN(300)
		ta, tb := rng.IntN(2) == 1, rng.IntN(2) == 1
		alpha := float32(rng.IntN(5)-2) / 2
		beta := [...]float32{0, 1, -0.5, 3}[rng.IntN(4)]
		asm := kernels()[i%len(kernels())]
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			newOperands(rng, ta, tb, m, n, k, rng.IntN(4), alpha, beta).check(t, asm)
		})
	}
}

func TestSgemmThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(7, 8))
	o := newOperands(rng, false, true, 130, 100, 161, 1, 1, 0)
	SetThreads(1)
	if got := Threads(); got != 1 {
		t.Fatalf("Threads() = %d after SetThreads(1)", got)
	}
	if n := workers.n.Load(); n != 0 {
		t.Fatalf("%d workers still running after SetThreads(1)", n)
	}
	o.check(t, hasAsm)
	SetThreads(0)
	if got, want := Threads(), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("Threads() = %d after SetThreads(0), want GOMAXPROCS %d", got, want)
	}
	SetThreads(1000)
	if got, want := Threads(), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("Threads() = %d after SetThreads(1000), want GOMAXPROCS %d", got, want)
	}
	o.check(t, hasAsm)
}

func TestSgemmPanics(t *testing.T) {
	f := make([]float32, 100)
	cases := []struct {
		name string
		call func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, f, 2, f, 2, 0, f, 2) }},
		{"negative k", func() { Sgemm(false, false, 2, 2, -1, 1, f, 2, f, 2, 0, f, 2) }},
		{"lda < k", func() { Sgemm(false, false, 2, 2, 3, 1, f, 2, f, 2, 0, f, 2) }},
		{"lda < m when transA", func() { Sgemm(true, false, 3, 2, 2, 1, f, 2, f, 2, 0, f, 2) }},
		{"ldb < n", func() { Sgemm(false, false, 2, 3, 2, 1, f, 2, f, 2, 0, f, 3) }},
		{"ldb < k when transB", func() { Sgemm(false, true, 2, 2, 3, 1, f, 3, f, 2, 0, f, 2) }},
		{"ldc < n", func() { Sgemm(false, false, 2, 3, 2, 1, f, 2, f, 3, 0, f, 2) }},
		{"a short", func() { Sgemm(false, false, 10, 2, 10, 1, f[:99], 10, f, 2, 0, f, 2) }},
		{"b short", func() { Sgemm(false, false, 2, 10, 10, 1, f, 10, f[:99], 10, 0, f, 10) }},
		{"c short", func() { Sgemm(false, false, 10, 10, 2, 1, f, 2, f, 10, 0, f[:99], 10) }},
		{"c short with ldc pad", func() { Sgemm(false, false, 2, 2, 2, 1, f, 2, f, 2, 0, f[:50], 50) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.call()
		})
	}
	// Exactly long enough is fine: the last row need not extend to ldc.
	Sgemm(false, false, 2, 2, 2, 1, f[:52], 50, f[:52], 50, 0, f[:52], 50)
}

// TestSgemmAllocs proves that warm calls allocate nothing, both on one
// goroutine and when the product is split between workers.
func TestSgemmAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{17, 33, 20}, {256, 128, 128}} {
		for _, asm := range kernels() {
			o := newOperands(rng, false, true, s[0], s[1], s[2], 0, 1, 1)
			f := func() {
				sgemm(asm, o.transA, o.transB, o.m, o.n, o.k, o.alpha, o.a, o.lda, o.b, o.ldb, o.beta, o.c, o.ldc)
			}
			f()
			if got := testing.AllocsPerRun(20, f); got != 0 {
				t.Errorf("%s %v: %v allocations per call, want 0", kernelName(asm), s, got)
			}
		}
	}
}

// TestSgemmConcurrent runs many callers at once, some large enough to use the
// worker pool, and checks every result; run it with -race.
func TestSgemmConcurrent(t *testing.T) {
	const callers = 6
	rng := rand.New(rand.NewPCG(11, 12))
	type job struct {
		o    *operands
		want []float32
	}
	jobs := make([]job, callers)
	for i := range jobs {
		s := [][3]int{{31, 40, 50}, {200, 150, 150}, {70, 300, 220}}[i%3]
		o := newOperands(rng, i%2 == 0, i%4 < 2, s[0], s[1], s[2], 1, 1, 0)
		want := append([]float32(nil), o.c...)
		reference(o.transA, o.transB, o.m, o.n, o.k, o.alpha, o.a, o.lda, o.b, o.ldb, o.beta, want, o.ldc)
		jobs[i] = job{o, want}
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for _, j := range jobs {
		wg.Go(func() {
			c := make([]float32, len(j.o.c))
			for range 4 {
				copy(c, j.o.c)
				Sgemm(j.o.transA, j.o.transB, j.o.m, j.o.n, j.o.k, j.o.alpha, j.o.a, j.o.lda, j.o.b, j.o.ldb, j.o.beta, c, j.o.ldc)
				for i := range c {
					if d := math.Abs(float64(c[i] - j.want[i])); !(d <= 1e-3) {
						errs <- fmt.Errorf("%dx%dx%d: C[%d] = %v, want %v", j.o.m, j.o.n, j.o.k, i, c[i], j.want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSplit checks which trainer shapes Sgemm splits between goroutines.
func TestSplit(t *testing.T) {
	if Threads() < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	for _, tc := range []struct {
		m, n, k int
		split   bool
	}{
		{256, 256, 784, true}, {784, 256, 256, true}, {256, 128, 256, true},
		{200, 150, 150, true}, {70, 300, 220, true},
		{256, 32, 128, false}, {256, 32, 256, false}, {256, 256, 32, false},
	} {
		p := problem{m: tc.m, n: tc.n, k: tc.k}
		if got := plan(&p) > 1; got != tc.split {
			t.Errorf("%dx%dx%d: split = %v, want %v", tc.m, tc.n, tc.k, got, tc.split)
		}
	}
}
