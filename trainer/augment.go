package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Augment says how to perturb an item into a random view of itself. In
// self-supervised training two views of one item form a positive pair, so
// the augmentations decide what the encoder learns to ignore: shifted,
// slightly rotated, noisy or partly hidden versions of an image should all
// land close together. The zero Augment is the identity.
//
// Shift, Rotate and Cutout apply only to images (dataset.Images); Noise and
// Mask apply to every kind.
type Augment struct {
	// Shift is the largest translation in pixels: each view moves by whole
	// pixels dx, dy drawn uniformly from [-Shift, Shift], and pixels moved in
	// from outside the image are 0.
	Shift int
	// Rotate is the largest rotation in degrees: each view turns about the
	// image centre by an angle drawn uniformly from [-Rotate, Rotate],
	// sampling the source with bilinear interpolation.
	Rotate float64
	// Noise is the standard deviation of gaussian noise added to every
	// feature. Image pixels are then clamped to [0, 1].
	Noise float64
	// Cutout is the side in pixels of a square, placed uniformly at random
	// inside the image, whose pixels are set to 0 (DeVries and Taylor's
	// cutout). A side larger than the image blanks the whole image.
	Cutout int
	// Mask is the probability, in [0, 1), of setting each feature to 0
	// independently (feature dropout).
	Mask float64
}

// Limits that Validate enforces: beyond them a value is surely a mistake
// (a percentage typed as a fraction, a radian typed as degrees).
const (
	maxAugmentPixels = 1024 // Shift, Cutout
	maxAugmentRotate = 180  // degrees
	maxAugmentNoise  = 10   // standard deviations, in feature units
)

// DefaultAugment returns augmentations of the given strength for items of
// kind, where width and height are the image size (ignored for other
// kinds). strength runs from 0 (the identity) through 0.5 (a sensible
// default) to 1 (strong); values outside [0, 1] are clamped and NaN counts
// as 0.
//
// For images, with side the smaller of width and height, strength s gives
// Noise 0.4·s and Cutout round(8·s·side/28): for 28×28 at 0.5, noise 0.2
// and a 4-pixel cutout; for 8×8, a 1-pixel one. No shift and no rotation:
// an MLP reads pixels by position, so a view moved by even one pixel looks
// to it like another item, and NT-Xent with shifted views on digits ends
// below the untrained encoder (kNN 0.93 against 0.96), where noise and
// cutout reach raw pixels (docs/benchmarks.md, "Self-supervised
// defaults"). For Vectors it gives Noise 0.2·s and Mask 0.4·s. For Text and
// Interactions, whose features are sparse counts or ids where noise makes
// no sense, it gives Mask 0.4·s only (a Run does not use it for them: it
// augments texts by deleting words and hashing the rest again, see
// Config.Augment, and does not augment item ids).
func DefaultAugment(kind dataset.Kind, width, height int, strength float64) Augment {
	s := strength
	if !(s > 0) { // also NaN
		return Augment{}
	}
	s = min(s, 1)
	switch kind {
	case dataset.Images:
		side := float64(min(width, height))
		if side <= 0 {
			return Augment{Noise: 0.2 * s}
		}
		return Augment{
			Noise:  0.4 * s,
			Cutout: int(math.Round(8 * s * side / 28)),
		}
	case dataset.Vectors:
		return Augment{Noise: 0.2 * s, Mask: 0.4 * s}
	default:
		return Augment{Mask: 0.4 * s}
	}
}

// Validate returns an error naming the first field that is negative, not
// finite or absurdly large (Shift or Cutout above 1024 pixels, Rotate above
// 180°, Noise above 10, Mask of 1 or more), or nil.
func (a Augment) Validate() error {
	switch {
	case a.Shift < 0 || a.Shift > maxAugmentPixels:
		return fmt.Errorf("augment: shift %d must be in [0, %d] pixels", a.Shift, maxAugmentPixels)
	case !(a.Rotate >= 0 && a.Rotate <= maxAugmentRotate):
		return fmt.Errorf("augment: rotate %v must be in [0, %d] degrees", a.Rotate, maxAugmentRotate)
	case !(a.Noise >= 0 && a.Noise <= maxAugmentNoise):
		return fmt.Errorf("augment: noise %v must be in [0, %d]", a.Noise, maxAugmentNoise)
	case a.Cutout < 0 || a.Cutout > maxAugmentPixels:
		return fmt.Errorf("augment: cutout %d must be in [0, %d] pixels", a.Cutout, maxAugmentPixels)
	case !(a.Mask >= 0 && a.Mask < 1):
		return fmt.Errorf("augment: mask %v must be a probability in [0, 1)", a.Mask)
	}
	return nil
}

// Augmenter applies an Augment to items of one kind and shape. It
// precomputes what it can and needs no scratch space, so it never allocates
// and, holding no mutable state, may be shared by goroutines that each pass
// their own *rand.Rand.
type Augmenter struct {
	a      Augment
	image  bool
	w, h   int
	cutout int     // Cutout clamped to the image
	rad    float64 // Rotate in radians
}

// NewAugmenter returns an Augmenter applying a to items of kind; width and
// height are the image size for dataset.Images and are ignored otherwise.
// It panics if a is invalid (check user input with Validate first) or if an
// image size is not positive.
func NewAugmenter(a Augment, kind dataset.Kind, width, height int) *Augmenter {
	if err := a.Validate(); err != nil {
		panic("trainer: NewAugmenter: " + err.Error())
	}
	g := &Augmenter{a: a, image: kind == dataset.Images}
	if g.image {
		if width <= 0 || height <= 0 {
			panic(fmt.Sprintf("trainer: NewAugmenter: image size %d×%d", width, height))
		}
		g.w, g.h = width, height
		g.cutout = min(a.Cutout, width, height)
		g.rad = a.Rotate * math.Pi / 180
	}
	return g
}

// Apply writes into dst a random view of src: for images a shift and
// rotation (one bilinear warp), then noise, then masking, then cutout, so
// that masked and cut-out features are exactly 0. Every draw comes from rng,
// so equal seeds give equal views; an augmentation that is off draws
// nothing. Apply does not allocate.
//
// dst and src must have the same length (width×height for images) and must
// not overlap; Apply panics otherwise.
func (g *Augmenter) Apply(dst, src []float32, rng *rand.Rand) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("trainer: Augmenter.Apply: dst has %d features, src %d", len(dst), len(src)))
	}
	if len(src) == 0 {
		return
	}
	if &dst[0] == &src[0] {
		panic("trainer: Augmenter.Apply: dst and src alias")
	}
	if g.image && len(src) != g.w*g.h {
		panic(fmt.Sprintf("trainer: Augmenter.Apply: %d features for a %d×%d image", len(src), g.w, g.h))
	}

	if g.image && (g.a.Shift > 0 || g.rad > 0) {
		var dx, dy int
		if s := g.a.Shift; s > 0 {
			dx, dy = rng.IntN(2*s+1)-s, rng.IntN(2*s+1)-s
		}
		var theta float64
		if g.rad > 0 {
			theta = (2*rng.Float64() - 1) * g.rad
		}
		g.warp(dst, src, dx, dy, theta)
	} else {
		copy(dst, src)
	}

	if sd := g.a.Noise; sd > 0 {
		// Four gaussian draws from each 64-bit random number, by table
		// lookup: noise for every pixel of every view of every step was a
		// fifth of an augmented training step with rng.NormFloat64.
		t := normalTable()
		s := float32(sd)
		var bits uint64
		for i, v := range dst {
			if i&3 == 0 {
				bits = rng.Uint64()
			}
			v += s * t[uint16(bits)]
			bits >>= 16
			if g.image {
				v = min(max(v, 0), 1)
			}
			dst[i] = v
		}
	}
	if p := g.a.Mask; p > 0 {
		for i := range dst {
			if rng.Float64() < p {
				dst[i] = 0
			}
		}
	}
	if c := g.cutout; c > 0 {
		x0, y0 := rng.IntN(g.w-c+1), rng.IntN(g.h-c+1)
		for y := y0; y < y0+c; y++ {
			clear(dst[y*g.w+x0 : y*g.w+x0+c])
		}
	}
}

// warp writes src moved by (dx, dy) whole pixels and rotated by theta
// radians about the image centre into dst; pixels from outside src are 0.
// A positive theta turns the x axis towards the y axis, which on screen
// (y pointing down) is clockwise. With theta 0 it copies pixels exactly.
func (g *Augmenter) warp(dst, src []float32, dx, dy int, theta float64) {
	w, h := g.w, g.h
	if theta == 0 {
		for y := range h {
			row := dst[y*w : (y+1)*w]
			sy := y - dy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			// Output x takes source x-dx; only x in [lo, hi) has a source.
			lo, hi := max(dx, 0), min(w+dx, w)
			if lo >= hi {
				clear(row)
				continue
			}
			clear(row[:lo])
			copy(row[lo:hi], src[sy*w+lo-dx:sy*w+hi-dx])
			clear(row[hi:])
		}
		return
	}

	// Inverse mapping: output pixel p reads the source at
	// R(-theta)(p - c - d) + c, which moves by (cos, -sin) per output
	// column, so each row is walked incrementally.
	cx, cy := float64(w-1)/2, float64(h-1)/2
	sin, cos := math.Sincos(theta)
	for y := range h {
		u := float64(-dx) - cx
		v := float64(y-dy) - cy
		sx := cos*u + sin*v + cx
		sy := -sin*u + cos*v + cy
		row := dst[y*w : (y+1)*w]
		for x := range row {
			row[x] = bilinear(src, w, h, sx, sy)
			sx += cos
			sy -= sin
		}
	}
}

// bilinear samples the w×h image src at (sx, sy), reading pixels outside it
// as 0.
func bilinear(src []float32, w, h int, sx, sy float64) float32 {
	// Beyond one pixel outside, all four neighbours are outside; within it,
	// adding 1 makes the coordinates positive so int() is floor.
	if sx <= -1 || sy <= -1 || sx >= float64(w) || sy >= float64(h) {
		return 0
	}
	ix, iy := int(sx+1), int(sy+1)
	ax, ay := float32(sx+1-float64(ix)), float32(sy+1-float64(iy))
	x0, y0 := ix-1, iy-1
	if x0 >= 0 && y0 >= 0 && x0+1 < w && y0+1 < h {
		i := y0*w + x0
		top := src[i]*(1-ax) + src[i+1]*ax
		bottom := src[i+w]*(1-ax) + src[i+w+1]*ax
		return top*(1-ay) + bottom*ay
	}
	at := func(x, y int) float32 {
		if x < 0 || x >= w || y < 0 || y >= h {
			return 0
		}
		return src[y*w+x]
	}
	top := at(x0, y0)*(1-ax) + at(x0+1, y0)*ax
	bottom := at(x0, y0+1)*(1-ax) + at(x0+1, y0+1)*ax
	return top*(1-ay) + bottom*ay
}

// normalTable returns the standard normal's quantiles at the midpoints of
// 65,536 equal slices of probability: indexing it with 16 uniform random
// bits draws from a normal distribution quantised to 65,536 levels and cut
// off at ±4.33 standard deviations (a probability of 1.5e-5), which is
// indistinguishable from the real thing for augmentation noise.
var normalTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		u := (float64(i) + 0.5) / (1 << 16)
		t[i] = float32(math.Sqrt2 * math.Erfinv(2*u-1))
	}
	return &t
})
