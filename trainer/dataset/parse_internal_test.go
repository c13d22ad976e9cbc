package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestGreyRow checks each fast path of greyRow against the standard
// library's conversion of img.At to grey.
func TestGreyRow(t *testing.T) {
	const w, h = 37, 5
	rng := rand.New(rand.NewPCG(1, 2))
	rect := image.Rect(3, 2, 3+w, 2+h) // not at the origin, to check offsets
	imgs := []image.Image{image.NewGray(rect), image.NewGray16(rect), image.NewRGBA(rect), image.NewNRGBA(rect),
		image.NewRGBA64(rect), image.NewNRGBA64(rect), image.NewCMYK(rect)}
	for _, img := range imgs {
		pix := reflect.ValueOf(img).Elem().FieldByName("Pix").Bytes()
		for i := range pix {
			pix[i] = uint8(rng.IntN(256))
		}
	}
	pal := image.NewPaletted(rect, color.Palette{color.Black, color.White, color.RGBA{200, 10, 30, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.IntN(4)) // 3 is past the palette: black
	}
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128 // grey: the fast path reads Y alone
	}
	for _, img := range append(imgs, pal, ycc) {
		t.Run(fmt.Sprintf("%T", img), func(t *testing.T) {
			var g greyScaler // fills the palette table as scale does
			if im, ok := img.(*image.Paletted); ok {
				for i, c := range im.Palette {
					g.pal[i] = float32(color.Gray16Model.Convert(c).(color.Gray16).Y) / 0xffff
				}
			}
			dst := make([]float32, w-4)
			for y := rect.Min.Y; y < rect.Max.Y; y++ {
				greyRow(dst, img, &g.pal, rect.Min.X+4, y)
				for i, v := range dst {
					var c color.Color = color.Black
					if im, ok := img.(*image.Paletted); !ok || int(im.ColorIndexAt(rect.Min.X+4+i, y)) < len(im.Palette) {
						c = img.At(rect.Min.X+4+i, y)
					}
					want := float64(color.Gray16Model.Convert(c).(color.Gray16).Y) / 0xffff
					if math.Abs(float64(v)-want) > 2e-3 {
						t.Fatalf("pixel (%d,%d) = %g, want %g", rect.Min.X+4+i, y, v, want)
					}
				}
			}
		})
	}
}

// TestArchive reads an archive held in tiny blocks, so that reads and
// signatures cross block boundaries.
func TestArchive(t *testing.T) {
	data := []byte(strings.Repeat("abPK\x01\x02cdPK\x01", 20) + "\x02")
	for _, size := range []int{1, 3, 4, 5, 7, 64} {
		a := &archive{}
		for off := 0; off < len(data); off += size {
			a.blocks = append(a.blocks, data[off:min(off+size, len(data))])
			a.off = append(a.off, int64(off))
		}
		a.size = int64(len(data))
		sig := []byte("PK\x01\x02")
		if got, want := a.count(sig), bytes.Count(data, sig); got != want {
			t.Errorf("blocks of %d: count %d, want %d", size, got, want)
		}
		for off := range len(data) + 1 {
			for n := range 12 {
				b := make([]byte, n)
				k, err := a.ReadAt(b, int64(off))
				want := data[min(off, len(data)):min(off+n, len(data))]
				if k != len(want) || !bytes.Equal(b[:k], want) || k < n && err != io.EOF || err != nil && err != io.EOF {
					t.Fatalf("blocks of %d: ReadAt(%d bytes, %d) = %d %q, %v; want %q", size, n, off, k, b[:k], err, want)
				}
			}
		}
	}
}

// TestHasherCount checks that count agrees with Append.
func TestHasherCount(t *testing.T) {
	texts := []string{"", "!!", "a", "the cat", "the the the cat cat", "naïve café — 42", strings.Repeat("word ", 500)}
	for _, f := range []Feature{AllFeatures, WordUnigrams, WordBigrams, CharTrigrams} {
		for _, buckets := range []int{1, 7, DefaultBuckets} {
			h := NewHasher(HashOptions{Buckets: buckets, Features: f})
			for _, text := range texts {
				cols, _ := h.Append(nil, nil, text)
				if got := h.count(text); got != len(cols) {
					t.Errorf("features %d, %d buckets, %q: count %d, Append %d", f, buckets, text, got, len(cols))
				}
			}
		}
	}
}
