package dataset_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func TestHashFeaturesDeterministic(t *testing.T) {
	text := "The quick brown fox — naïve café, 42 times!"
	c1, v1 := dataset.HashFeatures(text, dataset.HashOptions{})
	h := dataset.NewHasher(dataset.HashOptions{})
	for range 3 {
		h.Append(nil, nil, "something else entirely to dirty the scratch space")
		c2, v2 := h.Append(nil, nil, text)
		if !slices.Equal(c1, c2) || !slices.Equal(v1, v2) {
			t.Fatalf("features differ between calls:\n%v %v\n%v %v", c1, v1, c2, v2)
		}
	}
	// Appending to existing slices leaves them alone and adds the same.
	c3, v3 := h.Append([]int32{7}, []float32{0.5}, text)
	if c3[0] != 7 || v3[0] != 0.5 || !slices.Equal(c3[1:], c1) || !slices.Equal(v3[1:], v1) {
		t.Errorf("Append to a prefix changed it or its features")
	}
}

// TestHashFeaturesPinned pins the hash: it is part of every text dataset's
// features, so changing it must be a deliberate, visible decision. The
// values were checked against an independent re-implementation of the
// documented algorithm (FNV-1a over code points, SplitMix64 finaliser).
func TestHashFeaturesPinned(t *testing.T) {
	tests := []struct {
		text string
		opts dataset.HashOptions
		want string
	}{
		{"cat", dataset.HashOptions{Buckets: 1000, Features: dataset.WordUnigrams}, "[349]"},
		{"cat", dataset.HashOptions{Buckets: 1000, Features: dataset.CharTrigrams}, "[63 233 504]"},
		{"black cat", dataset.HashOptions{Buckets: 1000, Features: dataset.WordBigrams}, "[561]"},
		{"The cat sat", dataset.HashOptions{}, "[4097 48567 69267 70207 77068 134756 151312 153764 174882 174988 175893 177905 204631]"},
	}
	for _, tt := range tests {
		cols, _ := dataset.HashFeatures(tt.text, tt.opts)
		if got := fmt.Sprint(cols); got != tt.want {
			t.Errorf("HashFeatures(%q, %+v) = %s, want %s", tt.text, tt.opts, got, tt.want)
		}
	}
}

func TestHashFeatures(t *testing.T) {
	uni := dataset.HashOptions{Buckets: 1 << 20, Features: dataset.WordUnigrams}
	tests := []struct {
		name  string
		a, b  string
		opts  dataset.HashOptions
		equal bool
	}{
		{"case", "The Cat", "the cat", dataset.HashOptions{}, true},
		{"unicode case", "ÉCOLE", "école", dataset.HashOptions{}, true},
		{"punctuation separates", "cat,dog!", "cat dog", dataset.HashOptions{}, true},
		{"whitespace", "  cat\t\n dog ", "cat dog", dataset.HashOptions{}, true},
		{"order matters with bigrams", "cat dog", "dog cat", dataset.HashOptions{}, false},
		{"order ignored by unigrams", "cat dog", "dog cat", uni, true},
		{"invalid UTF-8 separates", "cat\xffdog", "cat dog", dataset.HashOptions{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, va := dataset.HashFeatures(tt.a, tt.opts)
			cb, vb := dataset.HashFeatures(tt.b, tt.opts)
			if eq := slices.Equal(ca, cb) && slices.Equal(va, vb); eq != tt.equal {
				t.Errorf("%q and %q: equal %v, want %v", tt.a, tt.b, eq, tt.equal)
			}
		})
	}

	t.Run("counts and norm", func(t *testing.T) {
		cols, vals := dataset.HashFeatures("a b a", uni)
		if len(cols) != 2 {
			t.Fatalf("%d buckets for two words", len(cols))
		}
		want := map[float32]bool{float32(2 / math.Sqrt(5)): true, float32(1 / math.Sqrt(5)): true}
		if !want[vals[0]] || !want[vals[1]] || vals[0] == vals[1] {
			t.Errorf("values %v, want 2/√5 and 1/√5", vals)
		}
	})
	t.Run("sorted, in range, unit length", func(t *testing.T) {
		for _, text := range []string{"x", "The cat sat on the mat", strings.Repeat("lorem ipsum dolor ", 50), "日本語のテキスト 123"} {
			for _, buckets := range []int{1, 7, 1 << 10, dataset.DefaultBuckets} {
				cols, vals := dataset.HashFeatures(text, dataset.HashOptions{Buckets: buckets})
				var sum float64
				for i, c := range cols {
					if c < 0 || int(c) >= buckets || i > 0 && c <= cols[i-1] {
						t.Fatalf("%q, %d buckets: columns %v not increasing in range", text, buckets, cols)
					}
					sum += float64(vals[i]) * float64(vals[i])
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Errorf("%q: squared norm %g, want 1", text, sum)
				}
			}
		}
	})
	t.Run("nothing to hash", func(t *testing.T) {
		for _, text := range []string{"", "  ", "!!! ... ---", "\xff\xfe"} {
			if cols, vals := dataset.HashFeatures(text, dataset.HashOptions{}); len(cols) != 0 || len(vals) != 0 {
				t.Errorf("%q: features %v", text, cols)
			}
		}
	})
	t.Run("trigram count", func(t *testing.T) {
		// "<cat>" has 3 trigrams; with enough buckets they rarely collide.
		cols, _ := dataset.HashFeatures("cat", dataset.HashOptions{Buckets: 1 << 24, Features: dataset.CharTrigrams})
		if len(cols) != 3 {
			t.Errorf("%d trigram buckets for \"cat\", want 3", len(cols))
		}
	})
}

func TestHasherAllocs(t *testing.T) {
	h := dataset.NewHasher(dataset.HashOptions{})
	text := "A teaching tool that trains contrastive encoders and streams embeddings to a browser."
	cols, vals := h.Append(nil, nil, text)
	allocs := testing.AllocsPerRun(100, func() {
		cols, vals = h.Append(cols[:0], vals[:0], text)
	})
	if allocs != 0 {
		t.Errorf("warm Append allocates %v times per call", allocs)
	}
}

func TestNewHasherPanics(t *testing.T) {
	for _, o := range []dataset.HashOptions{{Buckets: -1}, {Buckets: dataset.MaxBuckets + 1}, {Features: 1 << 7}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", o)
				}
			}()
			dataset.NewHasher(o)
		}()
	}
}

func BenchmarkHashFeatures(b *testing.B) {
	h := dataset.NewHasher(dataset.HashOptions{})
	text := "any of various deciduous trees of the genus Acer bearing winged seeds in pairs; north temperate zone"
	var cols []int32
	var vals []float32
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		cols, vals = h.Append(cols[:0], vals[:0], text)
	}
}

func ExampleHashFeatures() {
	cols, vals := dataset.HashFeatures("black cat", dataset.HashOptions{Buckets: 1000, Features: dataset.WordUnigrams})
	fmt.Println(len(cols), "buckets, weights", vals)
	// Output: 2 buckets, weights [0.70710677 0.70710677]
}
