package dataset_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strconv"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// BenchmarkParseCSV parses and validates a 100,000 × 100 table of numbers
// and a label column, generated here with short numbers (0 to 9.99) so the
// file (about 41 MB) stays under the default 50 MB limit.
func BenchmarkParseCSV(b *testing.B) {
	const n, dim = 100_000, 100
	var buf bytes.Buffer
	for j := range dim {
		fmt.Fprintf(&buf, "f%d,", j)
	}
	buf.WriteString("label\n")
	line := make([]byte, 0, 512)
	for i := range n {
		line = line[:0]
		for j := range dim {
			line = strconv.AppendFloat(line, float64((i*31+j*17)%1000)/100, 'g', -1, 32)
			line = append(line, ',')
		}
		line = append(line, 'c')
		line = strconv.AppendInt(line, int64(i%10), 10)
		line = append(line, '\n')
		buf.Write(line)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/1e6, "MB")
	b.ResetTimer()
	for b.Loop() {
		ds, err := dataset.Parse("big.csv", bytes.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if ds.Len() != n || ds.Dim != dim {
			b.Fatalf("%d items of dimension %d", ds.Len(), ds.Dim)
		}
	}
}

// BenchmarkParseImages parses and validates a zip of 10,000 28×28 PNGs in
// ten class folders.
func BenchmarkParseImages(b *testing.B) {
	const n = 10_000
	var es []entry
	for i := range n {
		c := i % 10
		es = append(es, entry{fmt.Sprintf("class%d/%05d.png", c, i),
			pngOf(b, 28, 28, func(x, y int) uint8 { return uint8((x*y + i + 25*c) % 256) })})
	}
	data := makeZip(b, es...)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/1e6, "MB")
	b.ResetTimer()
	for b.Loop() {
		ds, err := dataset.Parse("digits.zip", bytes.NewReader(data), dataset.ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if ds.Len() != n || len(ds.ClassNames) != 10 {
			b.Fatalf("%d items, %d classes", ds.Len(), len(ds.ClassNames))
		}
	}
}

// BenchmarkParseText parses 100,000 short sentences into hashed features.
func BenchmarkParseText(b *testing.B) {
	data := []byte(lines(100_000, func(i int) string {
		return fmt.Sprintf("label%d\tthe quick brown fox %d jumps over the lazy dog near river %d", i%7, i, i%97)
	}))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := dataset.Parse("s.txt", bytes.NewReader(data), dataset.ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMegapixel parses zips of ten 1024×1024 images of several
// kinds and reports the cost of decoding and resizing per megapixel, the
// figure DefaultLimits' MaxPixels rests on.
func BenchmarkDecodeMegapixel(b *testing.B) {
	const side = 1024
	grey := image.NewGray(image.Rect(0, 0, side, side))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i % 251)
	}
	colour := image.NewRGBA(grey.Rect)
	for i := range colour.Pix {
		colour.Pix[i] = uint8(i % 253)
	}
	jpegOf := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tt := range []struct {
		name string
		img  []byte
	}{
		{"png-1bit", onePNG(b, side, side)},
		{"png-grey", pngOf(b, side, side, func(x, y int) uint8 { return uint8(x ^ y) })},
		{"png-rgba", rgbaPNG(b, side, side, color.NRGBA{200, 100, 50, 128})},
		{"png-rgba16-paeth", paethPNG(b, side, side)},
		{"jpeg-grey", jpegOf(grey)},
		{"jpeg-colour", jpegOf(colour)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var es []entry
			for i := range 10 {
				es = append(es, entry{fmt.Sprintf("c%d/%d.png", i%2, i), tt.img})
			}
			data := makeZip(b, es...)
			for b.Loop() {
				if _, err := dataset.Parse("a.zip", bytes.NewReader(data), dataset.ParseOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/(10*side*side/1e6), "ms/MP")
		})
	}
}
