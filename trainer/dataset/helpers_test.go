package dataset_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// entry is one file to put in a test zip.
type entry struct {
	name string
	data []byte
}

// makeZip builds a zip archive of entries, deflated.
func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lyingZip builds a zip with one deflated entry whose header claims an
// uncompressed size of claim bytes, whatever data really holds.
func lyingZip(t testing.TB, name string, data []byte, claim uint64) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: claim,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngOf encodes a w×h grey image whose pixel (x, y) is f(x, y).
func pngOf(t testing.TB, w, h int, f func(x, y int) uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{f(x, y)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rgbaPNG encodes a w×h image of one NRGBA colour.
func rgbaPNG(t testing.TB, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegOf encodes a w×h grey JPEG of one level.
func jpegOf(t testing.TB, w, h int, level uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = level
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNG returns a small PNG whose header claims w×h pixels (with a valid
// header checksum), to check that size is refused before decoding.
func hugePNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	b := pngOf(t, 1, 1, func(int, int) uint8 { return 0 })
	// signature (8), IHDR length (4), "IHDR" (4), width, height, ...
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// imageZip returns a zip of n small PNGs in classes folders, class c's
// images filled with level 25*c.
func imageZip(t testing.TB, n, classes, side int) []byte {
	t.Helper()
	var es []entry
	pngs := make([][]byte, classes)
	for c := range classes {
		pngs[c] = pngOf(t, side, side, func(x, y int) uint8 { return uint8(25*c + (x+y)%3) })
	}
	for i := range n {
		c := i % classes
		es = append(es, entry{fmt.Sprintf("class%d/img%05d.png", c, i), pngs[c]})
	}
	return makeZip(t, es...)
}

// csvRows returns a CSV header and n rows of dim numbers and a label.
func csvRows(n, dim, classes int) string {
	var b strings.Builder
	for j := range dim {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := range n {
		for j := range dim {
			fmt.Fprintf(&b, "%d.%d,", (i*7+j*3)%100, j%10)
		}
		fmt.Fprintf(&b, "c%d\n", i%classes)
	}
	return b.String()
}

// lines returns n numbered lines made by f.
func lines(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// paethPNG returns a w×h 16-bit RGBA PNG with every row Paeth-filtered, the
// costliest PNG to decode that still compresses well.
func paethPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	chunk := func(out *bytes.Buffer, typ string, data []byte) {
		binary.Write(out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		binary.Write(out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // bit depth, colour type RGBA
	chunk(&out, "IHDR", ihdr)
	row := make([]byte, 1+8*w)
	row[0] = 4 // Paeth
	for i := 1; i < len(row); i++ {
		row[i] = byte(i * 7)
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	for range h {
		zw.Write(row)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk(&out, "IDAT", idat.Bytes())
	chunk(&out, "IEND", nil)
	return out.Bytes()
}
