package floatblob

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// rawFloats returns x as a floatsRaw blob.
func rawFloats(x []float32) []byte { return appendRaw([]byte{floatsRaw}, x) }

// unitRows returns n×dim values like a trained encoder's embeddings:
// unit-length rows around ten cluster centres.
func unitRows(rng *rand.Rand, n, dim int) []float32 {
	centres := make([]float64, 10*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, n*dim)
	for i := range n {
		var ss float64
		row := x[i*dim:][:dim]
		for j := range row {
			v := centres[i%10*dim+j] + 0.8*rng.NormFloat64()
			row[j] = float32(v)
			ss += v * v
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / math.Sqrt(ss))
		}
	}
	return x
}

func TestFloatsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bits := make([]float32, 1000)
	for i := range bits {
		bits[i] = math.Float32frombits(rng.Uint32()) // NaNs too: their bits must survive
	}
	tests := []struct {
		name   string
		x      []float32
		format byte // the one Encode chooses
	}{
		{"none", nil, floatsRaw},
		{"one", []float32{-1.5}, floatsRaw},
		{"odd", []float32{1, 2, 3, 4, 5, 6, 7}, floatsRaw},
		{"special", []float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, math.MaxFloat32, float32(math.Copysign(0, -1))}, floatsRaw},
		{"bits", bits, floatsRaw},
		{"zeros", make([]float32, 1000), floatsShuffle},
		{"embeddings", unitRows(rng, 10000, 32), floatsShuffle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b := Encode(tt.x); b[0] != tt.format || len(b) > 1+4*len(tt.x) {
				t.Errorf("Encode wrote format %d, %d bytes for %d values; want format %d, at most %d bytes",
					b[0], len(b), len(tt.x), tt.format, 1+4*len(tt.x))
			}
			for _, blob := range [][]byte{Encode(tt.x), rawFloats(tt.x)} {
				got, err := Decode(blob)
				if err != nil {
					t.Fatalf("format %d: %v", blob[0], err)
				}
				if len(got) != len(tt.x) {
					t.Fatalf("format %d: %d values, want %d", blob[0], len(got), len(tt.x))
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(tt.x[i]) {
						t.Fatalf("format %d: value %d = %#08x, want %#08x", blob[0], i, math.Float32bits(got[i]), math.Float32bits(tt.x[i]))
					}
				}
			}
		})
	}
}

func TestDecodeFloatsDamaged(t *testing.T) {
	good := Encode(unitRows(rand.New(rand.NewPCG(3, 4)), 100, 8))
	huge := append([]byte{floatsShuffle}, binary.AppendUvarint(nil, 1<<40)...)
	tests := map[string][]byte{
		"empty":           {},
		"unknown format":  {9, 1, 2, 3},
		"raw of 5 bytes":  {floatsRaw, 1, 2, 3, 4, 5},
		"no count":        {floatsShuffle},
		"huge count":      append(huge, good[3:]...),
		"count too large": append([]byte{floatsShuffle}, append(binary.AppendUvarint(nil, 801), good[3:]...)...),
		"count too small": append([]byte{floatsShuffle}, append(binary.AppendUvarint(nil, 799), good[3:]...)...),
		"truncated":       good[:len(good)/2],
		"not deflate":     append(good[:3:3], bytes.Repeat([]byte{0xff}, 100)...),
	}
	for name, blob := range tests {
		if x, err := Decode(blob); err == nil {
			t.Errorf("%s: decoded %d values, want an error", name, len(x))
		}
	}
}

// FuzzDecodeFloats decodes any bytes: an error or values, never a panic.
func FuzzDecodeFloats(f *testing.F) {
	f.Add(Encode([]float32{1, 2, 3}))
	f.Add(rawFloats([]float32{1, 2}))
	f.Add([]byte{floatsShuffle, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Decode(b)
		if err == nil && len(b) > 0 && b[0] == floatsShuffle {
			if again := Encode(x); len(x) > 0 && !bytes.Equal(mustDecode(t, again), mustDecode(t, b)) {
				t.Errorf("decode(encode(x)) != x")
			}
		}
	})
}

// mustDecode returns the bits of the floats blob b holds.
func mustDecode(t *testing.T, b []byte) []byte {
	x, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return rawFloats(x)
}

// BenchmarkFloats encodes and decodes 10,000×32 embeddings, reporting the
// blob's size as a fraction of the raw one.
func BenchmarkFloats(b *testing.B) {
	x := unitRows(rand.New(rand.NewPCG(1, 2)), 10000, 32)
	blob := Encode(x)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			Encode(x)
		}
		b.ReportMetric(float64(len(blob))/float64(1+4*len(x)), "size/raw")
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			if _, err := Decode(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := rawFloats(x)
	b.Run("decode-raw", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
