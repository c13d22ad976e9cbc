package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// blob returns a w×h image with a smooth gaussian spot of the given radius
// centred at (bx, by), peak 1.
func blob(w, h int, bx, by, radius float64) []float32 {
	img := make([]float32, w*h)
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-bx, float64(y)-by
			img[y*w+x] = float32(math.Exp(-(dx*dx + dy*dy) / (2 * radius * radius)))
		}
	}
	return img
}

// moments returns an image's total mass and centre of mass.
func moments(img []float32, w int) (mass, mx, my float64) {
	for i, v := range img {
		mass += float64(v)
		mx += float64(v) * float64(i%w)
		my += float64(v) * float64(i/w)
	}
	return mass, mx / mass, my / mass
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestAugmentIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		kind dataset.Kind
		w, h int
		n    int
	}{
		{dataset.Images, 28, 28, 784},
		{dataset.Images, 8, 8, 64},
		{dataset.Vectors, 0, 0, 50},
		{dataset.Text, 0, 0, 50},
	} {
		src := make([]float32, tt.n)
		for i := range src {
			src[i] = rng.Float32()
		}
		dst := make([]float32, tt.n)
		for _, a := range []Augment{{}, DefaultAugment(tt.kind, tt.w, tt.h, 0)} {
			NewAugmenter(a, tt.kind, tt.w, tt.h).Apply(dst, src, rng)
			if !slices.Equal(dst, src) {
				t.Errorf("%s %dx%d: %+v changed the input", tt.kind, tt.w, tt.h, a)
			}
		}
	}
}

func TestAugmentWarpShift(t *testing.T) {
	const w, h = 28, 28
	g := NewAugmenter(Augment{}, dataset.Images, w, h)
	src := blob(w, h, 13, 14, 2)
	m0, x0, y0 := moments(src, w)
	dst := make([]float32, w*h)
	for _, d := range [][2]int{{0, 0}, {2, -1}, {-3, 3}, {1, 0}, {0, -2}} {
		g.warp(dst, src, d[0], d[1], 0)
		m, x, y := moments(dst, w)
		if math.Abs(m-m0) > 1e-4*m0 || math.Abs(x-x0-float64(d[0])) > 1e-4 || math.Abs(y-y0-float64(d[1])) > 1e-4 {
			t.Errorf("shift %v: mass %.4f→%.4f, centre (%.3f,%.3f)→(%.3f,%.3f)", d, m0, m, x0, y0, x, y)
		}
	}
	// Everything shifted out leaves zeros.
	g.warp(dst, src, w, 0, 0)
	if slices.ContainsFunc(dst, func(v float32) bool { return v != 0 }) {
		t.Error("shift by the full width left pixels behind")
	}
}

func TestAugmentShiftRandom(t *testing.T) {
	const w, h, s = 28, 28, 3
	g := NewAugmenter(Augment{Shift: s}, dataset.Images, w, h)
	src := blob(w, h, 13.5, 13.5, 2)
	m0, x0, y0 := moments(src, w)
	dst := make([]float32, w*h)
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[[2]int]bool{}
	for range 300 {
		g.Apply(dst, src, rng)
		m, x, y := moments(dst, w)
		dx, dy := x-x0, y-y0
		rx, ry := math.Round(dx), math.Round(dy)
		if math.Abs(m-m0) > 1e-4*m0 || math.Abs(dx-rx) > 1e-4 || math.Abs(dy-ry) > 1e-4 || math.Abs(rx) > s || math.Abs(ry) > s {
			t.Fatalf("centre moved by (%.4f, %.4f), mass %.4f→%.4f; want whole pixels within ±%d", dx, dy, m0, m, s)
		}
		seen[[2]int{int(rx), 0}] = true
		seen[[2]int{0, int(ry)}] = true
	}
	for d := -s; d <= s; d++ {
		if !seen[[2]int{d, 0}] || !seen[[2]int{0, d}] {
			t.Errorf("shift %d never drawn on one axis", d)
		}
	}
}

func TestAugmentRotate(t *testing.T) {
	const w, h = 28, 28
	g := NewAugmenter(Augment{}, dataset.Images, w, h)
	dst := make([]float32, w*h)

	src := blob(w, h, 13.5, 13.5, 3)
	g.warp(dst, src, 0, 0, 0)
	if !slices.Equal(dst, src) {
		t.Error("rotation by 0 is not the identity")
	}
	m0, _, _ := moments(src, w)
	for _, deg := range []float64{1, 5, -10, 15, 30} {
		g.warp(dst, src, 0, 0, deg*math.Pi/180)
		m, x, y := moments(dst, w)
		if math.Abs(m-m0) > 0.02*m0 || math.Abs(x-13.5) > 0.01 || math.Abs(y-13.5) > 0.01 {
			t.Errorf("rotate %g°: mass %.3f→%.3f (want within 2%%), centre (%.3f, %.3f), want (13.5, 13.5)", deg, m0, m, x, y)
		}
	}

	// An off-centre spot travels on a circle: a quarter turn takes +x to +y.
	off := blob(w, h, 13.5+6, 13.5, 2)
	m0, _, _ = moments(off, w)
	for _, tt := range []struct{ deg, wantX, wantY float64 }{
		{90, 13.5, 13.5 + 6},
		{-90, 13.5, 13.5 - 6},
		{10, 13.5 + 6*math.Cos(math.Pi/18), 13.5 + 6*math.Sin(math.Pi/18)},
	} {
		g.warp(dst, off, 0, 0, tt.deg*math.Pi/180)
		m, x, y := moments(dst, w)
		if math.Abs(m-m0) > 0.02*m0 || math.Abs(x-tt.wantX) > 0.05 || math.Abs(y-tt.wantY) > 0.05 {
			t.Errorf("rotate %g°: centre (%.3f, %.3f), want (%.3f, %.3f); mass %.3f→%.3f", tt.deg, x, y, tt.wantX, tt.wantY, m0, m)
		}
	}

	// Random rotations through Apply keep mass and stay in range.
	ga := NewAugmenter(Augment{Rotate: 15}, dataset.Images, w, h)
	rng := rand.New(rand.NewPCG(5, 6))
	m0, _, _ = moments(src, w)
	for range 50 {
		ga.Apply(dst, src, rng)
		if m, _, _ := moments(dst, w); math.Abs(m-m0) > 0.02*m0 {
			t.Fatalf("random rotation changed mass %.3f→%.3f", m0, m)
		}
		for _, v := range dst {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %g outside [0,1]", v)
			}
		}
	}
}

// warpRef is the textbook form of Augmenter.warp: for every output pixel,
// rotate back, subtract the shift, and interpolate the four neighbours.
func warpRef(dst, src []float32, w, h, dx, dy int, theta float64) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	at := func(x, y int) float64 {
		if x < 0 || x >= w || y < 0 || y >= h {
			return 0
		}
		return float64(src[y*w+x])
	}
	for y := range h {
		for x := range w {
			u, v := float64(x-dx)-cx, float64(y-dy)-cy
			sx := math.Cos(theta)*u + math.Sin(theta)*v + cx
			sy := -math.Sin(theta)*u + math.Cos(theta)*v + cy
			x0, y0 := math.Floor(sx), math.Floor(sy)
			ax, ay := sx-x0, sy-y0
			i, j := int(x0), int(y0)
			dst[y*w+x] = float32((at(i, j)*(1-ax)+at(i+1, j)*ax)*(1-ay) + (at(i, j+1)*(1-ax)+at(i+1, j+1)*ax)*ay)
		}
	}
}

func TestAugmentWarpMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, size := range [][2]int{{28, 28}, {8, 8}, {13, 7}} {
		w, h := size[0], size[1]
		g := NewAugmenter(Augment{}, dataset.Images, w, h)
		src := make([]float32, w*h)
		for i := range src {
			src[i] = rng.Float32()
		}
		got, want := make([]float32, w*h), make([]float32, w*h)
		for range 50 {
			dx, dy := rng.IntN(7)-3, rng.IntN(7)-3
			theta := (2*rng.Float64() - 1) * math.Pi
			g.warp(got, src, dx, dy, theta)
			warpRef(want, src, w, h, dx, dy, theta)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("%dx%d shift (%d,%d) rotate %.3f: pixel %d is %g, want %g", w, h, dx, dy, theta, i, got[i], want[i])
				}
			}
		}
	}
}

func TestAugmentNoise(t *testing.T) {
	const sd = 0.1
	for _, tt := range []struct {
		kind dataset.Kind
		w, h int
		base float32
	}{
		{dataset.Images, 28, 28, 0.5}, // far enough from 0 and 1 that clamping is negligible
		{dataset.Vectors, 0, 0, -3},
	} {
		n := 784
		g := NewAugmenter(Augment{Noise: sd}, tt.kind, tt.w, tt.h)
		src, dst := filled(n, tt.base), make([]float32, n)
		rng := rand.New(rand.NewPCG(7, 8))
		var sum, sum2 float64
		const reps = 50
		for range reps {
			g.Apply(dst, src, rng)
			for _, v := range dst {
				d := float64(v - tt.base)
				sum += d
				sum2 += d * d
			}
		}
		k := float64(n * reps)
		mean := sum / k
		std := math.Sqrt(sum2/k - mean*mean)
		// Standard errors are about sd/√k ≈ 5e-4 for the mean and 3.6e-4 for the std.
		if math.Abs(mean) > 0.003 || math.Abs(std-sd) > 0.003 {
			t.Errorf("%s: noise mean %.5f std %.5f, want 0 and %g", tt.kind, mean, std, sd)
		}
	}

	// Image noise is clamped to [0, 1].
	g := NewAugmenter(Augment{Noise: 1}, dataset.Images, 8, 8)
	src, dst := filled(64, 0), make([]float32, 64)
	g.Apply(dst, src, rand.New(rand.NewPCG(9, 10)))
	for _, v := range dst {
		if v < 0 || v > 1 {
			t.Fatalf("noisy pixel %g outside [0, 1]", v)
		}
	}
}

func TestAugmentCutout(t *testing.T) {
	for _, tt := range []struct {
		w, h, cut, side int
	}{
		{28, 28, 6, 6},
		{8, 8, 2, 2},
		{20, 10, 10, 10},
		{28, 28, 40, 28}, // larger than the image: clamped, blanks it all
	} {
		g := NewAugmenter(Augment{Cutout: tt.cut}, dataset.Images, tt.w, tt.h)
		src, dst := filled(tt.w*tt.h, 1), make([]float32, tt.w*tt.h)
		rng := rand.New(rand.NewPCG(11, uint64(tt.cut)))
		for range 20 {
			g.Apply(dst, src, rng)
			zeros, x0, y0, x1, y1 := 0, tt.w, tt.h, -1, -1
			for i, v := range dst {
				switch v {
				case 0:
					x, y := i%tt.w, i/tt.w
					zeros++
					x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				case 1:
				default:
					t.Fatalf("cutout changed a pixel to %g", v)
				}
			}
			if zeros != tt.side*tt.side || x1-x0+1 != tt.side || y1-y0+1 != tt.side {
				t.Fatalf("%dx%d cutout %d: %d zeros spanning %dx%d, want a %dx%d square",
					tt.w, tt.h, tt.cut, zeros, x1-x0+1, y1-y0+1, tt.side, tt.side)
			}
		}
	}
}

func TestAugmentMask(t *testing.T) {
	for _, p := range []float64{0.1, 0.3, 0.7} {
		const n, reps = 2000, 10
		g := NewAugmenter(Augment{Mask: p}, dataset.Vectors, 0, 0)
		src, dst := filled(n, 1), make([]float32, n)
		rng := rand.New(rand.NewPCG(12, 13))
		zeros := 0
		for range reps {
			g.Apply(dst, src, rng)
			for _, v := range dst {
				if v == 0 {
					zeros++
				} else if v != 1 {
					t.Fatalf("mask changed a feature to %g", v)
				}
			}
		}
		// The standard error is at most 0.5/√20000 ≈ 0.0035.
		if rate := float64(zeros) / (n * reps); math.Abs(rate-p) > 0.015 {
			t.Errorf("mask %g: zeroed %.4f of features", p, rate)
		}
	}
}

func TestAugmentDeterministic(t *testing.T) {
	for _, tt := range []struct {
		kind dataset.Kind
		w, h int
	}{{dataset.Images, 28, 28}, {dataset.Vectors, 0, 0}} {
		a := DefaultAugment(tt.kind, tt.w, tt.h, 0.7)
		a.Mask = 0.1
		g := NewAugmenter(a, tt.kind, tt.w, tt.h)
		src := blob(28, 28, 12, 15, 4)
		views := make([][]float32, 3)
		for i, seed := range []uint64{42, 42, 43} {
			views[i] = make([]float32, len(src))
			rng := rand.New(rand.NewPCG(seed, 0))
			g.Apply(views[i], src, rng)
			g.Apply(views[i], src, rng) // the second view depends on the first's draws
		}
		if !slices.Equal(views[0], views[1]) {
			t.Errorf("%s: the same seed gave different views", tt.kind)
		}
		if slices.Equal(views[0], views[2]) {
			t.Errorf("%s: different seeds gave the same view", tt.kind)
		}
	}
}

func TestAugmentAllocs(t *testing.T) {
	for _, tt := range []struct {
		kind dataset.Kind
		w, h int
	}{{dataset.Images, 28, 28}, {dataset.Vectors, 0, 0}, {dataset.Text, 0, 0}} {
		a := DefaultAugment(tt.kind, tt.w, tt.h, 1)
		a.Mask = 0.1
		g := NewAugmenter(a, tt.kind, tt.w, tt.h)
		src, dst := blob(28, 28, 14, 14, 4), make([]float32, 784)
		rng := rand.New(rand.NewPCG(1, 1))
		if n := testing.AllocsPerRun(100, func() { g.Apply(dst, src, rng) }); n != 0 {
			t.Errorf("%s: Apply allocates %v times per call", tt.kind, n)
		}
	}
}

func TestAugmentApplyPanics(t *testing.T) {
	g := NewAugmenter(Augment{Noise: 0.1}, dataset.Images, 8, 8)
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]float32, 64)
	for name, f := range map[string]func(){
		"lengths differ": func() { g.Apply(make([]float32, 64), make([]float32, 63), rng) },
		"wrong size":     func() { g.Apply(make([]float32, 63), make([]float32, 63), rng) },
		"alias":          func() { g.Apply(buf, buf, rng) },
		"bad augment":    func() { NewAugmenter(Augment{Shift: -1}, dataset.Images, 8, 8) },
		"no image size":  func() { NewAugmenter(Augment{}, dataset.Images, 0, 8) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f()
		})
	}
}

func TestAugmentValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tt := range []struct {
		a     Augment
		field string // "" when valid
	}{
		{Augment{}, ""},
		{Augment{Shift: 4, Rotate: 180, Noise: 10, Cutout: 1024, Mask: 0.99}, ""},
		{Augment{Shift: -1}, "shift"},
		{Augment{Shift: 5000}, "shift"},
		{Augment{Rotate: -1}, "rotate"},
		{Augment{Rotate: nan}, "rotate"},
		{Augment{Rotate: 360}, "rotate"},
		{Augment{Noise: -0.1}, "noise"},
		{Augment{Noise: nan}, "noise"},
		{Augment{Noise: inf}, "noise"},
		{Augment{Noise: 50}, "noise"},
		{Augment{Cutout: -2}, "cutout"},
		{Augment{Mask: -0.1}, "mask"},
		{Augment{Mask: 1}, "mask"},
		{Augment{Mask: nan}, "mask"},
	} {
		err := tt.a.Validate()
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.a, err)
		case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field)):
			t.Errorf("%+v: error %v, want one naming %s", tt.a, err, tt.field)
		}
	}
}

func TestDefaultAugment(t *testing.T) {
	for _, tt := range []struct {
		kind     dataset.Kind
		w, h     int
		strength float64
		want     Augment
	}{
		{dataset.Images, 28, 28, 0, Augment{}},
		{dataset.Images, 28, 28, 0.5, Augment{Noise: 0.2, Cutout: 4}},
		{dataset.Images, 28, 28, 1, Augment{Noise: 0.4, Cutout: 8}},
		{dataset.Images, 28, 28, 7, Augment{Noise: 0.4, Cutout: 8}},
		{dataset.Images, 28, 28, math.NaN(), Augment{}},
		{dataset.Images, 28, 28, -1, Augment{}},
		{dataset.Images, 8, 8, 0.5, Augment{Noise: 0.2, Cutout: 1}},
		{dataset.Vectors, 0, 0, 0.5, Augment{Noise: 0.1, Mask: 0.2}},
		{dataset.Text, 0, 0, 0.5, Augment{Mask: 0.2}},
		{dataset.Interactions, 0, 0, 1, Augment{Mask: 0.4}},
	} {
		got := DefaultAugment(tt.kind, tt.w, tt.h, tt.strength)
		if got != tt.want {
			t.Errorf("DefaultAugment(%s, %d, %d, %g) = %+v, want %+v", tt.kind, tt.w, tt.h, tt.strength, got, tt.want)
		}
	}
	for _, kind := range []dataset.Kind{dataset.Images, dataset.Vectors, dataset.Text, dataset.Interactions} {
		for s := 0.0; s <= 1; s += 0.05 {
			for _, side := range []int{1, 8, 28, 100} {
				if err := DefaultAugment(kind, side, side, s).Validate(); err != nil {
					t.Errorf("DefaultAugment(%s, %d, %d, %g) is invalid: %v", kind, side, side, s, err)
				}
			}
		}
	}
}

// BenchmarkAugmentApply measures one view of a 28×28 image at the default
// strength, the per-item cost of pairs=augment on Fashion-MNIST.
func BenchmarkAugmentApply(b *testing.B) {
	g := NewAugmenter(DefaultAugment(dataset.Images, 28, 28, 0.5), dataset.Images, 28, 28)
	src, dst := blob(28, 28, 14, 14, 5), make([]float32, 784)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		g.Apply(dst, src, rng)
	}
}

// Cutout blanks a square of the side asked for, at a random place in each
// view.
func ExampleAugmenter() {
	const w, h = 28, 28
	img := make([]float32, w*h)
	for i := range img {
		img[i] = 1
	}
	g := NewAugmenter(Augment{Cutout: 6}, dataset.Images, w, h)
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float32, w*h), make([]float32, w*h)
	g.Apply(a, img, rng)
	g.Apply(b, img, rng)
	zeros := func(v []float32) (n int) {
		for _, x := range v {
			if x == 0 {
				n++
			}
		}
		return n
	}
	fmt.Println(zeros(a), "and", zeros(b), "of", w*h, "pixels zeroed")
	// Output: 36 and 36 of 784 pixels zeroed
}
