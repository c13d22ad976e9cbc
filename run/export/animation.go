package export

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/contrastive-explorer/explorer/run"
)

// AnimationOptions shape the animated GIF. Zero fields take the defaults
// documented on each.
type AnimationOptions struct {
	// Width and Height of the picture in pixels. Default 800×600.
	Width, Height int
	// Between is how many in-between frames are interpolated between two
	// epochs. Default 3; negative for none.
	Between int
	// EpochDelay and BetweenDelay are how long an epoch's frame and an
	// in-between frame show, in hundredths of a second. Defaults 30 and 4;
	// the last epoch shows for 2 s before the animation loops.
	EpochDelay, BetweenDelay int
	// Progress, when not nil, is told after each frame is written: done
	// of total frames.
	Progress func(done, total int)
}

func (o AnimationOptions) withDefaults() AnimationOptions {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 800, 600
	}
	if o.Between == 0 {
		o.Between = 3
	}
	o.Between = max(o.Between, 0)
	if o.EpochDelay <= 0 {
		o.EpochDelay = 30
	}
	if o.BetweenDelay <= 0 {
		o.BetweenDelay = 4
	}
	return o
}

// AnimationFrames returns how many frames the animation of a run with
// frames projected epochs has: one per epoch and the in-between frames.
func AnimationFrames(epochs int, o AnimationOptions) int {
	o = o.withDefaults()
	return epochs + max(epochs-1, 0)*o.Between
}

// The GIF's colours: white, black, greys for anti-aliased text, the
// unlabelled grey, then the class colours.
const (
	ixWhite = iota
	ixBlack
	ixGrey1
	ixGrey2
	ixGrey3
	ixGrey4
	ixUnlabelled
	ixClasses
)

var gifPalette = func() color.Palette {
	p := color.Palette{color.White, color.Black,
		color.Gray{Y: 0x40}, color.Gray{Y: 0x80}, color.Gray{Y: 0xB0}, color.Gray{Y: 0xDC}, Unlabelled}
	for _, c := range Palette {
		p = append(p, c)
	}
	return p
}()

// Layout of a frame: the map on the left, the legend on the right, the
// title and the epoch counter on top.
const (
	marginTop    = 64
	marginSide   = 16
	legendWidth  = 190
	dotsPerLarge = 5000 // from this many points on, each is drawn smaller
)

// writeAnimation writes an animated GIF of the run's epochs: each epoch's
// map, with Between frames interpolated linearly between consecutive
// epochs (positions and the view's bounds), the epoch counter, the title
// and the legend. Frames are rendered and compressed on every core, and
// written in order as they are ready.
func writeAnimation(ctx context.Context, w io.Writer, r *Run, o AnimationOptions) error {
	o = o.withDefaults()
	frames, err := r.frames(ctx)
	if err != nil {
		return err
	}
	n := r.Data.Len()
	keys := make([]keyframe, len(frames))
	for k := range frames {
		keys[k] = newKeyframe(&frames[k], n)
	}
	base, err := r.animationBase(o)
	if err != nil {
		return err
	}
	workers := max(runtime.GOMAXPROCS(0), 1)
	// A face is not safe for concurrent use: one per worker.
	faces := make([]font.Face, workers)
	for i := range faces {
		if faces[i], err = newFace(20); err != nil {
			return err
		}
	}
	total := AnimationFrames(len(keys), o)
	gw := newGIFWriter(w, o.Width, o.Height)
	if err := gw.header(); err != nil {
		return err
	}

	// Frame j is keyframe j / (Between+1) moved t = (j % (Between+1)) /
	// (Between+1) of the way to the next.
	step := o.Between + 1
	render := func(j int, dst *image.Paletted, face font.Face) ([]byte, int) {
		k, t := j/step, float64(j%step)/float64(step)
		copy(dst.Pix, base.Pix)
		a := &keys[k]
		b := a
		if t > 0 {
			b = &keys[k+1]
		}
		epoch := a.epoch
		if t >= 0.5 {
			epoch = b.epoch
		}
		r.drawPoints(dst, a, b, t, o)
		drawText(dst, face, marginSide, 52, fmt.Sprintf("epoch %d / %d", epoch, keys[len(keys)-1].epoch), ixBlack)
		delay := o.BetweenDelay
		switch {
		case j == total-1:
			delay = 200
		case t == 0:
			delay = o.EpochDelay
		}
		return compressFrame(dst), delay
	}

	type result struct {
		data  []byte
		delay int
	}
	for start := 0; start < total; start += workers {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := make([]result, min(workers, total-start))
		var wg sync.WaitGroup
		for i := range batch {
			wg.Go(func() {
				dst := image.NewPaletted(image.Rect(0, 0, o.Width, o.Height), gifPalette)
				batch[i].data, batch[i].delay = render(start+i, dst, faces[i])
			})
		}
		wg.Wait()
		for i, res := range batch {
			if err := gw.frame(res.data, res.delay); err != nil {
				return err
			}
			if o.Progress != nil {
				o.Progress(start+i+1, total)
			}
		}
	}
	return gw.close()
}

// keyframe is one epoch's 2D positions (the first two coordinates) and
// the bounds the view fits them to.
type keyframe struct {
	epoch          int
	xy             []float32 // n×2, NaN for a point not drawn
	x0, x1, y0, y1 float64
}

func newKeyframe(f *run.FrameRecord, n int) keyframe {
	k := keyframe{epoch: f.Epoch, xy: make([]float32, 2*n)}
	var xs, ys []float64
	for i := range n {
		if i >= len(f.Coords)/max(f.Dims, 1) || f.Dims < 2 {
			k.xy[2*i], k.xy[2*i+1] = float32(math.NaN()), float32(math.NaN())
			continue
		}
		x, y := f.Coords[i*f.Dims], f.Coords[i*f.Dims+1]
		k.xy[2*i], k.xy[2*i+1] = x, y
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) && !math.IsNaN(float64(y)) && !math.IsInf(float64(y), 0) {
			xs, ys = append(xs, float64(x)), append(ys, float64(y))
		}
	}
	// The view fits the middle 99% of the points, so a few outliers do
	// not shrink the rest to a dot.
	k.x0, k.x1 = spread(xs)
	k.y0, k.y1 = spread(ys)
	return k
}

// spread returns the 0.5th and 99.5th percentiles of v, widened by 5% (a
// unit range around a single value).
func spread(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return -1, 1
	}
	slices.Sort(v)
	lo, hi = v[len(v)*5/1000], v[min(len(v)-1, len(v)*995/1000)]
	if !(hi > lo) {
		return lo - 1, hi + 1
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

// drawPoints draws every item t of the way from keyframe a to b, in its
// class colour, inside the map's area, keeping the aspect ratio.
func (r *Run) drawPoints(dst *image.Paletted, a, b *keyframe, t float64, o AnimationOptions) {
	lerp := func(p, q float64) float64 { return p + (q-p)*t }
	x0, x1, y0, y1 := lerp(a.x0, b.x0), lerp(a.x1, b.x1), lerp(a.y0, b.y0), lerp(a.y1, b.y1)
	areaW, areaH := float64(o.Width-legendWidth-2*marginSide), float64(o.Height-marginTop-marginSide)
	scale := min(areaW/(x1-x0), areaH/(y1-y0))
	cx, cy := float64(marginSide)+areaW/2, float64(marginTop)+areaH/2
	mx, my := (x0+x1)/2, (y0+y1)/2
	dot := disk
	if len(a.xy)/2 >= dotsPerLarge {
		dot = square
	}
	labels := r.Data.Labels
	for i := range len(a.xy) / 2 {
		x := lerp(float64(a.xy[2*i]), float64(b.xy[2*i]))
		y := lerp(float64(a.xy[2*i+1]), float64(b.xy[2*i+1]))
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		px, py := int(cx+(x-mx)*scale), int(cy-(y-my)*scale)
		ix := uint8(ixUnlabelled)
		if l := labels[i]; l >= 0 {
			ix = uint8(ixClasses + int(l)%len(Palette))
		}
		for _, d := range dot {
			qx, qy := px+d[0], py+d[1]
			if qx >= marginSide && qx < o.Width-legendWidth-marginSide && qy >= marginTop && qy < o.Height-marginSide {
				dst.Pix[qy*dst.Stride+qx] = ix
			}
		}
	}
}

// disk and square are the pixels a point covers: a disk of radius 2, or
// for many points a 2×2 square.
var (
	disk   = [][2]int{{-1, -2}, {0, -2}, {1, -2}, {-2, -1}, {-1, -1}, {0, -1}, {1, -1}, {2, -1}, {-2, 0}, {-1, 0}, {0, 0}, {1, 0}, {2, 0}, {-2, 1}, {-1, 1}, {0, 1}, {1, 1}, {2, 1}, {-1, 2}, {0, 2}, {1, 2}}
	square = [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}}
)

// sans is Liberation Sans, parsed once.
var sans = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(liberationsansregular.TTF) })

// newFace returns Liberation Sans at size pixels.
func newFace(size float64) (font.Face, error) {
	f, err := sans()
	if err != nil {
		return nil, fmt.Errorf("export: reading the font: %w", err)
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// animationBase draws what every frame shares: the white background, the
// title, the map's frame and the legend.
func (r *Run) animationBase(o AnimationOptions) (*image.Paletted, error) {
	big, err := newFace(20)
	if err != nil {
		return nil, err
	}
	small, err := newFace(14)
	if err != nil {
		return nil, err
	}
	img := image.NewPaletted(image.Rect(0, 0, o.Width, o.Height), gifPalette)
	drawText(img, big, marginSide, 26, clipText(big, r.Title(), o.Width-2*marginSide), ixBlack)
	// The map's frame.
	right, bottom := o.Width-legendWidth-marginSide, o.Height-marginSide
	for x := marginSide - 1; x <= right; x++ {
		img.Pix[(marginTop-1)*img.Stride+x], img.Pix[bottom*img.Stride+x] = ixGrey4, ixGrey4
	}
	for y := marginTop - 1; y <= bottom; y++ {
		img.Pix[y*img.Stride+marginSide-1], img.Pix[y*img.Stride+right] = ixGrey4, ixGrey4
	}
	names, more := labelNames(r.Data)
	x, y := o.Width-legendWidth, marginTop+8
	row := func(ix uint8, text string) {
		if ix != ixWhite {
			for dy := range 10 {
				for dx := range 10 {
					img.Pix[(y-10+dy)*img.Stride+x+dx] = ix
				}
			}
		}
		drawText(img, small, x+16, y, clipText(small, text, legendWidth-24), ixBlack)
		y += 20
	}
	for k, name := range names {
		if y > o.Height-marginSide {
			break
		}
		row(uint8(ixClasses+k%len(Palette)), name)
	}
	if more > 0 {
		row(ixWhite, fmt.Sprintf("… %d more", more))
	}
	if slices.Contains(r.Data.Labels, -1) {
		row(ixUnlabelled, "unlabelled")
	}
	return img, nil
}

// drawText writes s with its baseline at (x, y).
func drawText(dst *image.Paletted, face font.Face, x, y int, s string, ix uint8) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(gifPalette[ix]), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// clipText cuts s to fit width pixels, with an ellipsis.
func clipText(face font.Face, s string, width int) string {
	if font.MeasureString(face, s).Ceil() <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && font.MeasureString(face, string(r)+"…").Ceil() > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// compressFrame LZW-compresses a frame's pixels as a GIF image's data
// (minimum code size 8) and splits it into sub-blocks.
func compressFrame(img *image.Paletted) []byte {
	var raw bytes.Buffer
	lw := lzw.NewWriter(&raw, lzw.LSB, 8)
	lw.Write(img.Pix) // a bytes.Buffer does not fail
	lw.Close()
	out := make([]byte, 0, raw.Len()+raw.Len()/255+3)
	out = append(out, 8)
	for b := raw.Bytes(); len(b) > 0; {
		k := min(len(b), 255)
		out = append(out, byte(k))
		out = append(out, b[:k]...)
		b = b[k:]
	}
	return append(out, 0)
}

// gifWriter writes a looping GIF89a frame by frame, so an animation of
// many frames is never held whole.
type gifWriter struct {
	w  *bufio.Writer
	wd int
	ht int
}

func newGIFWriter(w io.Writer, width, height int) *gifWriter {
	return &gifWriter{w: bufio.NewWriterSize(w, 1<<16), wd: width, ht: height}
}

func (g *gifWriter) put(b ...byte) { g.w.Write(b) }

func (g *gifWriter) u16(v int) { g.w.Write(binary.LittleEndian.AppendUint16(nil, uint16(v))) }

// header writes the signature, the screen, the global colour table (the
// palette padded to 32 entries) and the loop-forever extension.
func (g *gifWriter) header() error {
	g.w.WriteString("GIF89a")
	g.u16(g.wd)
	g.u16(g.ht)
	g.put(0xF0|4, 0, 0) // global table of 2^(4+1) = 32 colours
	for i := range 32 {
		c := color.RGBAModel.Convert(color.White).(color.RGBA)
		if i < len(gifPalette) {
			c = color.RGBAModel.Convert(gifPalette[i]).(color.RGBA)
		}
		g.put(c.R, c.G, c.B)
	}
	g.put(0x21, 0xFF, 11)
	g.w.WriteString("NETSCAPE2.0")
	g.put(3, 1, 0, 0, 0)
	return nil
}

// frame writes one full-size frame: its delay (hundredths of a second)
// and its compressed pixels.
func (g *gifWriter) frame(data []byte, delay int) error {
	g.put(0x21, 0xF9, 4, 0x04) // graphic control: disposal "do not dispose"
	g.u16(delay)
	g.put(0, 0)
	g.put(0x2C)
	g.u16(0)
	g.u16(0)
	g.u16(g.wd)
	g.u16(g.ht)
	g.put(0)
	_, err := g.w.Write(data)
	return err
}

// close writes the trailer and flushes.
func (g *gifWriter) close() error {
	g.put(0x3B)
	return g.w.Flush()
}
