package projection

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// jitter returns x plus gaussian noise of the given scale.
func jitter(x []float32, scale float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 5))
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v + float32(scale*r.NormFloat64())
	}
	return out
}

// displacement is the RMS distance between matching points of a and b,
// relative to the RMS radius of a.
func displacement(a, b []float32) float64 {
	var move, radius float64
	for i := range a {
		d := float64(a[i] - b[i])
		move += d * d
		radius += float64(a[i]) * float64(a[i])
	}
	return math.Sqrt(move / radius)
}

func TestLiveWarmFramesMoveLessThanCold(t *testing.T) {
	const n, d = 500, 16
	x0, _ := blobs(n, d, 5, 4, 8)
	x1 := jitter(x0, 0.05, 9)
	live, err := NewLive(LiveOptions{Method: MethodTSNE, Iterations: 500, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f0, err := live.Next(ctx, x0, n, d)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := live.Next(ctx, x1, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if f0.Warm || !f1.Warm || f1.Iterations != 30 {
		t.Fatalf("warm flags %v %v, iterations %d", f0.Warm, f1.Warm, f1.Iterations)
	}
	opts := DefaultTSNEOptions()
	opts.Iterations, opts.Seed = 500, 4
	cold, err := TSNE(ctx, x1, n, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Be generous to the cold frame: align it first.
	if err := Procrustes(f0.Coords, cold.Coords, n, 2); err != nil {
		t.Fatal(err)
	}
	warmMove, coldMove := displacement(f0.Coords, f1.Coords), displacement(f0.Coords, cold.Coords)
	t.Logf("relative displacement: warm %.4f, cold %.4f", warmMove, coldMove)
	if warmMove >= coldMove/3 {
		t.Errorf("warm frame moved %.4f, cold %.4f: want warm well below cold", warmMove, coldMove)
	}
	if f1.QualityPoints != n || f1.Trustworthiness < 0.9 || f1.KL <= 0 {
		t.Errorf("frame quality: %+v", f1)
	}
	if &f1.Coords[0] == &f0.Coords[0] {
		t.Error("frames share their coordinates")
	}
}

func TestLivePCAFramesDoNotFlip(t *testing.T) {
	sd := []float64{6, 3, 1, 0.5}
	x0, _ := anisotropic(300, sd, 2)
	live, err := NewLive(LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f0, err := live.Next(ctx, x0, 300, 4)
	if err != nil {
		t.Fatal(err)
	}
	// The same points, rotated in input space and mirrored: PCA alone could
	// return any sign; aligned frames must match.
	x1 := make([]float32, len(x0))
	for i := range 300 {
		x1[i*4], x1[i*4+1], x1[i*4+2], x1[i*4+3] = -x0[i*4+1], x0[i*4], -x0[i*4+2], x0[i*4+3]
	}
	f1, err := live.Next(ctx, x1, 300, 4)
	if err != nil {
		t.Fatal(err)
	}
	if m := displacement(f0.Coords, f1.Coords); m > 1e-4 {
		t.Errorf("aligned PCA frame moved %.5f, want ~0", m)
	}
	if !f1.Warm || f1.Method != MethodPCA || len(f1.ExplainedVarianceRatio) != 2 {
		t.Errorf("frame: %+v", f1)
	}
}

func TestLiveSwitchesMethod(t *testing.T) {
	const n, d = 200, 8
	x, labels := blobs(n, d, 4, 5, 3)
	live, err := NewLive(LiveOptions{Iterations: 300})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pca, err := live.Next(ctx, x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := live.SetMethod(MethodTSNE); err != nil {
		t.Fatal(err)
	}
	ts, err := live.Next(ctx, x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if ts.Method != MethodTSNE || ts.Warm || pca.Method != MethodPCA {
		t.Fatalf("methods %s %s, warm %v", pca.Method, ts.Method, ts.Warm)
	}
	if acc := knnAccuracy(ts.Coords, n, 2, labels, 5); acc < 0.99 {
		t.Errorf("t-SNE frame after PCA: 5-NN accuracy %.3f", acc)
	}
	if err := live.SetMethod(MethodPCA); err != nil {
		t.Fatal(err)
	}
	back, err := live.Next(ctx, x, n, d)
	if err != nil || back.Method != MethodPCA || !back.Warm {
		t.Fatalf("back to PCA: %+v, %v", back, err)
	}
	if err := live.SetMethod("isomap"); !errors.Is(err, ErrOption) {
		t.Errorf("unknown method: error %v", err)
	}
	// On to UMAP, started from the PCA layout and turned onto it, then
	// warm, then back to t-SNE started from the UMAP layout.
	if err := live.SetMethod(MethodUMAP); err != nil {
		t.Fatal(err)
	}
	um, err := live.Next(ctx, x, n, d)
	if err != nil || um.Method != MethodUMAP || um.Warm || um.Iterations != 500 {
		t.Fatalf("UMAP after PCA: %+v, %v", um, err)
	}
	if acc := knnAccuracy(um.Coords, n, 2, labels, 5); acc < 0.99 {
		t.Errorf("UMAP frame after PCA: 5-NN accuracy %.3f", acc)
	}
	if c := correlation(back.Coords, um.Coords); c < 0.5 {
		t.Errorf("UMAP frame after PCA: coordinates correlate %.2f with the PCA frame's, want it turned onto it", c)
	}
	um2, err := live.Next(ctx, x, n, d)
	if err != nil || !um2.Warm || um2.Iterations != 30 {
		t.Fatalf("second UMAP frame: %+v, %v", um2, err)
	}
	_ = live.SetMethod(MethodTSNE)
	ts2, err := live.Next(ctx, x, n, d)
	if err != nil || ts2.Warm || ts2.Method != MethodTSNE {
		t.Fatalf("t-SNE after UMAP: %+v, %v", ts2, err)
	}
	if acc := knnAccuracy(ts2.Coords, n, 2, labels, 5); acc < 0.99 {
		t.Errorf("t-SNE frame after UMAP: 5-NN accuracy %.3f", acc)
	}
}

// correlation is the Pearson correlation of a and b taken as flat lists,
// each coordinate centred on its own mean first.
func correlation(a, b []float32) float64 {
	ca, cb := centred(a, 2), centred(b, 2)
	var ab, aa, bb float64
	for i := range ca {
		ab += ca[i] * cb[i]
		aa += ca[i] * ca[i]
		bb += cb[i] * cb[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// centred returns y (n×dims) minus its centroid, in float64.
func centred(y []float32, dims int) []float64 {
	n := len(y) / dims
	out := make([]float64, len(y))
	for k := range dims {
		var m float64
		for i := range n {
			m += float64(y[i*dims+k])
		}
		m /= float64(n)
		for i := range n {
			out[i*dims+k] = float64(y[i*dims+k]) - m
		}
	}
	return out
}

// centredDisplacement is displacement of centred layouts: UMAP's sit far
// from the origin, which would make any move look small.
func centredDisplacement(a, b []float32, dims int) float64 {
	ca, cb := centred(a, dims), centred(b, dims)
	var move, radius float64
	for i := range ca {
		d := ca[i] - cb[i]
		move += d * d
		radius += ca[i] * ca[i]
	}
	return math.Sqrt(move / radius)
}

func TestLiveUMAPWarmFramesMoveLessThanCold(t *testing.T) {
	const n, d = 500, 16
	x0, labels := blobs(n, d, 5, 4, 8)
	x1 := jitter(x0, 0.05, 9)
	live, err := NewLive(LiveOptions{Method: MethodUMAP, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f0, err := live.Next(ctx, x0, n, d)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := live.Next(ctx, x1, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if f0.Warm || !f1.Warm || f0.Iterations != 500 || f1.Iterations != 30 || f1.Method != MethodUMAP {
		t.Fatalf("frames: warm %v %v, epochs %d %d, method %s", f0.Warm, f1.Warm, f0.Iterations, f1.Iterations, f1.Method)
	}
	cold, err := UMAP(ctx, x1, n, d, UMAPOptions{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Be generous to the cold frame: align it first.
	if err := Procrustes(f0.Coords, cold.Coords, n, 2); err != nil {
		t.Fatal(err)
	}
	warmMove, coldMove := centredDisplacement(f0.Coords, f1.Coords, 2), centredDisplacement(f0.Coords, cold.Coords, 2)
	t.Logf("relative displacement: warm %.4f, cold %.4f", warmMove, coldMove)
	if warmMove >= coldMove/3 {
		t.Errorf("warm frame moved %.4f, cold %.4f: want warm well below cold", warmMove, coldMove)
	}
	if acc := knnAccuracy(f1.Coords, n, 2, labels, 5); acc < 0.99 {
		t.Errorf("warm UMAP frame: 5-NN accuracy %.3f", acc)
	}
	if f1.QualityPoints != n || f1.Trustworthiness < 0.9 || f1.KNNPreservation <= 0 || f1.KL != 0 {
		t.Errorf("frame quality: %+v", f1)
	}
	// A warm frame is continued from the previous layout, which Trim keeps.
	live.Trim()
	if f2, err := live.Next(ctx, x0, n, d); err != nil || !f2.Warm {
		t.Errorf("frame after Trim: warm %v, %v", f2.Warm, err)
	}
	// The number of points changed: cold again.
	x3, _ := blobs(300, d, 5, 4, 8)
	if f3, err := live.Next(ctx, x3, 300, d); err != nil || f3.Warm || f3.Iterations != 500 {
		t.Errorf("frame of other points: warm %v, epochs %d, %v", f3.Warm, f3.Iterations, err)
	}
	// Too few points for UMAP in 2D.
	if _, err := live.Next(ctx, x3[:3*d], 3, d); !errors.Is(err, ErrTooFewPoints) {
		t.Errorf("3 points: error %v, want ErrTooFewPoints", err)
	}
	if _, err := NewLive(LiveOptions{MinDist: 2}); !errors.Is(err, ErrOption) {
		t.Errorf("min_dist 2: error %v", err)
	}
	if _, err := NewLive(LiveOptions{WarmUMAPEpochs: -1}); !errors.Is(err, ErrOption) {
		t.Errorf("warm epochs -1: error %v", err)
	}
}

// BenchmarkLiveUMAPFrame10k times a warm UMAP frame of 10,000 points of
// 32 dimensions, quality figures on the default 2,000-point subsample
// included (the target: under 0.3 s).
func BenchmarkLiveUMAPFrame10k(b *testing.B) {
	benchWarmFrame10k(b, LiveOptions{Method: MethodUMAP})
}

func TestLiveEdgeCases(t *testing.T) {
	ctx := context.Background()
	live, err := NewLive(LiveOptions{Method: MethodTSNE, Iterations: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Next(ctx, []float32{1, 2, 3, 4, 5, 6}, 3, 2); !errors.Is(err, ErrTooFewPoints) {
		t.Errorf("3 points: error %v, want ErrTooFewPoints", err)
	}
	// Perplexity 30 is too large for 10 points: Live lowers it to 3.
	x, _ := blobs(10, 3, 2, 3, 1)
	f, err := live.Next(ctx, x, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Coords {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in layout")
		}
	}
	// Identical embeddings: PCA puts every point on the origin, and the
	// t-SNE frame after it must not start from that single spot.
	same := make([]float32, 50*4)
	for i := range same {
		same[i] = 1
	}
	flat, err := NewLive(LiveOptions{Iterations: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flat.Next(ctx, same, 50, 4); err != nil {
		t.Fatal(err)
	}
	_ = flat.SetMethod(MethodTSNE)
	ts, err := flat.Next(ctx, same, 50, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ts.Coords {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in layout of identical points")
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	x2, _ := blobs(100, 3, 2, 3, 1)
	if _, err := live.Next(cancelled, x2, 100, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	if _, err := NewLive(LiveOptions{Dims: 4}); !errors.Is(err, ErrOption) {
		t.Errorf("dims 4: error %v", err)
	}
}

// BenchmarkLiveTSNEFrame10k times a warm-started t-SNE frame of 10,000
// points of 32 dimensions, quality figures on the default 2,000-point
// subsample included.
func BenchmarkLiveTSNEFrame10k(b *testing.B) {
	benchWarmFrame10k(b, LiveOptions{Method: MethodTSNE, Iterations: 300})
}

// benchWarmFrame10k times warm frames of 10,000 points of 32 dimensions
// made by a Live of opts, after a cold one.
func benchWarmFrame10k(b *testing.B, opts LiveOptions) {
	const n, d = 10000, 32
	x0, _ := blobs(n, d, 10, 1.5, 1)
	live, err := NewLive(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := live.Next(ctx, x0, n, d); err != nil {
		b.Fatal(err)
	}
	frames := [][]float32{jitter(x0, 0.05, 1), jitter(x0, 0.05, 2)}
	// One warm frame first, so the timed frames (and -benchmem) see the
	// steady state: every buffer already sized by a warm frame.
	if _, err := live.Next(ctx, frames[1], n, d); err != nil {
		b.Fatal(err)
	}
	i := 0
	var cpu float64
	for b.Loop() {
		c0 := processCPUSeconds()
		f, err := live.Next(ctx, frames[i%2], n, d)
		if err != nil || !f.Warm {
			b.Fatal(err)
		}
		cpu += processCPUSeconds() - c0
		i++
	}
	// On a shared machine wall time depends on the neighbours; CPU seconds
	// per frame (both cores together) do not.
	b.ReportMetric(cpu/float64(i), "cpu-s/frame")
}

// TestAffinitiesReuse checks that computing affinities into buffers left
// over from other points (more of them, then fewer) gives exactly what
// fresh buffers give, warm-started or not.
func TestAffinitiesReuse(t *testing.T) {
	pl := newPool(2)
	defer pl.close()
	const d = 8
	big, _ := blobs(900, d, 5, 2, 3)
	x, _ := blobs(600, d, 4, 2, 4)
	x2 := jitter(x, 0.05, 9)
	dirty := computeAffinitiesInto(pl, big, 900, d, 30, false, nil, nil)
	dirty = computeAffinitiesInto(pl, x2, 600, d, 20, false, nil, dirty)
	prev := computeAffinities(pl, x, 600, d, 30, false, nil)
	for _, tc := range []struct {
		name string
		warm *affinities
	}{{"cold", nil}, {"warm", prev}} {
		t.Run(tc.name, func(t *testing.T) {
			want := computeAffinities(pl, x2, 600, d, 30, false, tc.warm)
			got := computeAffinitiesInto(pl, x2, 600, d, 30, false, tc.warm, dirty)
			if !slices.Equal(got.sparse.row, want.sparse.row) || !slices.Equal(got.sparse.col, want.sparse.col) ||
				!slices.Equal(got.sparse.val, want.sparse.val) || !slices.Equal(got.beta, want.beta) {
				t.Fatal("affinities computed into used buffers differ from fresh ones")
			}
			u, uw := got.sparse.upperTriangleInto(dirty.sparse.upperTriangle()), want.sparse.upperTriangle()
			if !slices.Equal(u.row, uw.row) || !slices.Equal(u.col, uw.col) || !slices.Equal(u.val, uw.val) {
				t.Fatal("upper triangle computed into used buffers differs")
			}
		})
	}
}

// TestLiveWarmFrameAllocations checks that a warm t-SNE frame reuses its
// buffers: beyond the returned Coords, only a handful of small allocations.
func TestLiveWarmFrameAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs t-SNE")
	}
	const n, d = 500, 8
	x, _ := blobs(n, d, 4, 2, 5)
	frames := [][]float32{jitter(x, 0.05, 1), jitter(x, 0.05, 2)}
	live, err := NewLive(LiveOptions{Method: MethodTSNE, Iterations: 50, WarmIterations: 5, QualitySample: 300, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if _, err := live.Next(ctx, frames[i%2], n, d); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	var bytes uint64
	allocs := testing.AllocsPerRun(4, func() {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if _, err := live.Next(ctx, frames[i%2], n, d); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		bytes = max(bytes, m1.TotalAlloc-m0.TotalAlloc)
		i++
	})
	// Coords is n×2 float32s; allow the pool, closures and the like.
	if limit := uint64(n*2*4 + 16<<10); allocs > 40 || bytes > limit {
		t.Errorf("warm frame: %.0f allocations, %d bytes; want ≤ 40 and ≤ %d", allocs, bytes, limit)
	}
}

// TestLiveTrim checks that Trim lets go of the state kept between frames
// (the heap shrinks by most of it) and changes nothing else: the next frame
// is the one an untrimmed projector makes, warm from the last picture.
func TestLiveTrim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs t-SNE")
	}
	const n, d = 3000, 16
	x0, _ := blobs(n, d, 5, 4, 8)
	ctx := context.Background()
	var lives [2]*Live
	for k := range lives {
		live, err := NewLive(LiveOptions{Method: MethodTSNE, Iterations: 100, WarmIterations: 20, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := live.Next(ctx, jitter(x0, 0.05, uint64(i)), n, d); err != nil {
				t.Fatal(err)
			}
		}
		lives[k] = live
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	lives[1].Trim()
	after := heap()
	// The affinities alone hold n × 3·perplexity entries of 12 bytes, twice.
	if freed := int64(before) - int64(after); freed < 2*n*90*12 {
		t.Errorf("Trim freed %d bytes of %d; want at least %d", freed, before, 2*n*90*12)
	}
	lives[1].Trim() // twice is harmless
	x2 := jitter(x0, 0.05, 2)
	kept, err := lives[0].Next(ctx, x2, n, d)
	if err != nil {
		t.Fatal(err)
	}
	trimmed, err := lives[1].Next(ctx, x2, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if !trimmed.Warm {
		t.Error("the frame after Trim starts cold")
	}
	if move := displacement(kept.Coords, trimmed.Coords); move > 1e-3 {
		t.Errorf("the frame after Trim differs from the untrimmed projector's by %.4g (relative)", move)
	}
}

// TestLiveHoldsOneAffinityMatrix checks what a Live projector keeps
// between warm t-SNE frames: one P and one set of working buffers, plus
// the previous neighbour graph; before, it kept two of each, and warm
// frames held 1.8 times what the first did (122 MB for 12,000 points).
func TestLiveHoldsOneAffinityMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs t-SNE")
	}
	const n, d = 4000, 16
	x0, _ := blobs(n, d, 10, 4, 8)
	live, err := NewLive(LiveOptions{Method: MethodTSNE, Iterations: 50, WarmIterations: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	base := heap()
	var held []int64
	for i := range 4 {
		if _, err := live.Next(context.Background(), jitter(x0, 0.2, uint64(i)), n, d); err != nil {
			t.Fatal(err)
		}
		held = append(held, heap()-base)
	}
	t.Logf("held after each frame: %v bytes", held)
	if last := held[len(held)-1]; float64(last) > 1.35*float64(held[0]) {
		t.Errorf("warm frames hold %d bytes, %.2f times the first frame's %d; want at most 1.35", last, float64(last)/float64(held[0]), held[0])
	}
	runtime.KeepAlive(live)
}

// centroidGap is the RMS distance between the class centroids of layouts a
// and b (n×2), relative to a's RMS radius.
func centroidGap(a, b []float32, labels []int, classes int) float64 {
	ca, cb := make([]float64, 2*classes), make([]float64, 2*classes)
	count := make([]float64, classes)
	for i, l := range labels {
		count[l]++
		for k := range 2 {
			ca[2*l+k] += float64(a[2*i+k])
			cb[2*l+k] += float64(b[2*i+k])
		}
	}
	var gap, radius float64
	for l := range classes {
		for k := range 2 {
			d := (ca[2*l+k] - cb[2*l+k]) / count[l]
			gap += d * d
		}
	}
	for _, v := range a {
		radius += float64(v) * float64(v)
	}
	return math.Sqrt(gap/float64(classes)) / math.Sqrt(radius/float64(len(labels)))
}

// TestLiveStartFrom: a t-SNE frame started from another run's layout puts
// each class where that layout has it, where a frame of its own (rotated as
// well as it can be onto the same layout) puts them elsewhere; a PCA frame
// is rotated onto the layout; bad layouts are refused.
func TestLiveStartFrom(t *testing.T) {
	const n, d, classes = 600, 16, 6
	xA, labels := blobs(n, d, classes, 4, 8)
	xB := jitter(xA, 0.8, 11) // another run: the same classes, other details
	ctx := context.Background()
	project := func(seed uint64, start []float32, x []float32, m Method) Frame {
		t.Helper()
		l, err := NewLive(LiveOptions{Method: m, Iterations: 500, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if start != nil {
			if err := l.StartFrom(start, n); err != nil {
				t.Fatal(err)
			}
		}
		f, err := l.Next(ctx, x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := project(3, nil, xA, MethodTSNE)
	started := project(8, a.Coords, xB, MethodTSNE)
	own := project(8, nil, xB, MethodTSNE)
	if err := Procrustes(a.Coords, own.Coords, n, 2); err != nil {
		t.Fatal(err)
	}
	gapStarted, gapOwn := centroidGap(a.Coords, started.Coords, labels, classes), centroidGap(a.Coords, own.Coords, labels, classes)
	t.Logf("class centroids from the first layout: started from it %.3f, on its own %.3f (relative to the radius)", gapStarted, gapOwn)
	if started.Warm || started.Iterations != 500 {
		t.Errorf("a started frame is cold and full length: warm %v, %d iterations", started.Warm, started.Iterations)
	}
	if gapStarted > 0.25 || gapStarted > gapOwn/2 {
		t.Errorf("started from the layout, classes sit %.3f from it; on its own %.3f", gapStarted, gapOwn)
	}

	// PCA: a frame started from a layout (here the first run's PCA turned
	// by one radian and mirrored) is turned onto it; on its own it is not.
	pa := project(1, nil, xA, MethodPCA)
	turned := make([]float32, len(pa.Coords))
	c, sn := float32(math.Cos(1)), float32(math.Sin(1))
	for i := 0; i < n; i++ {
		x, y := pa.Coords[2*i], pa.Coords[2*i+1]
		turned[2*i], turned[2*i+1] = -(c*x - sn*y), sn*x+c*y
	}
	pb := project(1, turned, xA, MethodPCA)
	if gap := displacement(turned, pb.Coords); gap > 1e-4 {
		t.Errorf("a PCA frame started from a turned layout is %.5f from it", gap)
	}
	if gap := displacement(turned, pa.Coords); gap < 0.5 {
		t.Errorf("the PCA frame of its own is only %.3f from the turned layout: the check above proves nothing", gap)
	}

	l, _ := NewLive(LiveOptions{})
	if err := l.StartFrom(make([]float32, 5), 3); err == nil {
		t.Error("a layout of the wrong shape: no error")
	}
	if err := l.StartFrom([]float32{0, float32(math.NaN())}, 1); err == nil {
		t.Error("a non-finite layout: no error")
	}
}
