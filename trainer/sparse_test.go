package trainer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// glosses returns a synthetic labelled text dataset of n definitions hashed
// into buckets buckets: four classes, each with its own topic words, every
// definition a few topic words of its class among common words, and one or
// two headwords (topic words, one of them not in any definition); every
// fifth item held out.
func glosses(n, buckets int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	topics := [][]string{
		{"fur", "paw", "tail", "bark", "purr", "hoof", "mane"},
		{"wheel", "engine", "gear", "bolt", "lever", "motor", "axle"},
		{"bread", "salt", "sugar", "bake", "spice", "soup", "dough"},
		{"river", "hill", "coast", "valley", "city", "lake", "plain"},
	}
	common := []string{"a", "the", "of", "with", "that", "is", "used", "for", "or", "small", "large", "kind"}
	opts := dataset.HashOptions{Buckets: buckets}.Resolved()
	d := &dataset.Dataset{
		Name: "glosses", Kind: dataset.Text, Dim: opts.Buckets, Hash: opts,
		ClassNames: []string{"animal", "machine", "food", "place"},
		Labels:     make([]int32, n), Splits: make([]dataset.Split, n),
		Text: make([]string, n), Headwords: make([][]string, n),
		Sparse: &dataset.CSR{Cols: opts.Buckets, Indptr: []int{0}},
	}
	h := dataset.NewHasher(opts)
	for i := range n {
		c := i % len(topics)
		d.Labels[i] = int32(c)
		if i%5 == 4 {
			d.Splits[i] = dataset.Test
		}
		var words []string
		for range 4 + rng.IntN(6) {
			if rng.IntN(3) == 0 {
				words = append(words, topics[c][rng.IntN(len(topics[c]))])
			} else {
				words = append(words, common[rng.IntN(len(common))])
			}
		}
		d.Text[i] = strings.Join(words, " ") + "."
		d.Headwords[i] = []string{fmt.Sprintf("%s%d", topics[c][i%len(topics[c])], i%3)}
		if i%2 == 0 {
			d.Headwords[i] = append(d.Headwords[i], topics[c][(i+1)%len(topics[c])])
		}
		sp := d.Sparse
		sp.Indices, sp.Values = h.Append(sp.Indices, sp.Values, d.Text[i])
		sp.Indptr = append(sp.Indptr, len(sp.Indices))
	}
	return d
}

// TestSparseInputs: the vocabulary has a row for every column the items
// (and, for headword pairs, the headwords) use and none other, and the
// items' bag rows are their features remapped.
func TestSparseInputs(t *testing.T) {
	d := glosses(60, 1<<12)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, headwords := range []bool{false, true} {
		s := newSparseInputs(d, headwords, false)
		got, hwNNZ := bagRows(d, headwords)
		if got != s.vocab {
			t.Errorf("headwords %v: bagRows %d, vocabulary %d", headwords, got, s.vocab)
		}
		if headwords && (hwNNZ == 0 || hwNNZ > s.maxNNZ) || !headwords && hwNNZ != 0 {
			t.Errorf("headwords %v: bagRows says a headword has up to %d features, the inputs' maximum is %d", headwords, hwNNZ, s.maxNNZ)
		}
		used := map[int32]bool{}
		for i := range d.Len() {
			cols, vals := d.SparseRow(i)
			bc, bv := s.items.row(i)
			if !slices.Equal(vals, bv) || len(cols) != len(bc) {
				t.Fatalf("item %d: values %v, bag values %v", i, vals, bv)
			}
			for k, c := range cols {
				if s.rowOf[c] != bc[k] || bc[k] < 0 {
					t.Fatalf("item %d: column %d maps to %d, bag row %d", i, c, s.rowOf[c], bc[k])
				}
				used[c] = true
			}
		}
		if headwords {
			for i, ws := range d.Headwords {
				if s.headwordCount(i) != len(ws) {
					t.Fatalf("item %d: %d headword rows for %v", i, s.headwordCount(i), ws)
				}
				for k, w := range ws {
					cols, _ := dataset.HashFeatures(w, d.Hash)
					var sp sparseRows
					sp.reset()
					if got := s.appendHeadword(&sp, i, k); got != w {
						t.Fatalf("headword %d of item %d is %q, want %q", k, i, got, w)
					}
					bc, _ := sp.row(0)
					for j, c := range cols {
						if s.rowOf[c] != bc[j] || bc[j] < 0 {
							t.Fatalf("headword %q: column %d → bag row %d", w, c, bc[j])
						}
						used[c] = true
					}
				}
			}
		}
		if len(used) != s.vocab {
			t.Errorf("headwords %v: %d columns used, vocabulary of %d", headwords, len(used), s.vocab)
		}
	}
}

// TestTextViews: a view keeps a subsequence of the words (at least one),
// its features are the hashed view restricted to the vocabulary and
// rescaled to unit length, strength 0 gives the text's own features, and
// the same seed gives the same views.
func TestTextViews(t *testing.T) {
	d := glosses(80, 1<<12)
	s := newSparseInputs(d, false, true)
	for _, i := range []int{0, 7, 33} {
		var sp sparseRows
		sp.reset()
		var text []byte
		s.appendView(&sp, &text, i, 0, rand.New(rand.NewPCG(1, 1)))
		if want := strings.Join(strings.Fields(strings.TrimSuffix(d.Text[i], ".")), " "); string(text) != want {
			t.Errorf("item %d at strength 0: view %q, want %q", i, text, want)
		}
		bc, bv := sp.row(0)
		ic, iv := s.items.row(i)
		if !slices.Equal(bc, ic) || !approxEqual(bv, iv, 1e-6) {
			t.Errorf("item %d at strength 0: features differ from the item's", i)
		}
	}
	rng, rng2 := rand.New(rand.NewPCG(2, 3)), rand.New(rand.NewPCG(2, 3))
	shorter := 0
	for i := range d.Len() {
		var sp, sp2 sparseRows
		sp.reset()
		sp2.reset()
		var text, text2 []byte
		s.appendView(&sp, &text, i, 1, rng)
		s.appendView(&sp2, &text2, i, 1, rng2)
		if string(text) != string(text2) || !slices.Equal(sp.cols, sp2.cols) {
			t.Fatalf("item %d: equal seeds gave views %q and %q", i, text, text2)
		}
		words, all := strings.Fields(string(text)), strings.Fields(strings.TrimSuffix(d.Text[i], "."))
		if len(words) == 0 || !isSubsequence(words, all) {
			t.Fatalf("item %d: view %q is not a non-empty subsequence of %q", i, text, d.Text[i])
		}
		if len(words) < len(all) {
			shorter++
		}
		cols, vals := dataset.HashFeatures(string(text), d.Hash)
		var want []int32
		var ss float64
		for k, c := range cols {
			if r := s.rowOf[c]; r >= 0 {
				want = append(want, r)
				ss += float64(vals[k]) * float64(vals[k])
			}
		}
		bc, bv := sp.row(0)
		if !slices.Equal(bc, want) {
			t.Fatalf("item %d: view features %v, want %v", i, bc, want)
		}
		var norm float64
		for _, v := range bv {
			norm += float64(v) * float64(v)
		}
		if norm < 1-1e-5 || norm > 1+1e-5 {
			t.Fatalf("item %d: view features have squared norm %v", i, norm)
		}
	}
	if shorter < d.Len()/2 {
		t.Errorf("only %d of %d views at strength 1 lost a word", shorter, d.Len())
	}
	// Allocation-free once warm.
	var sp sparseRows
	sp.reset()
	var text []byte
	for i := range d.Len() {
		s.appendView(&sp, &text, i, 1, rng)
	}
	if a := testing.AllocsPerRun(20, func() {
		sp.reset()
		text = text[:0]
		s.appendView(&sp, &text, 5, 1, rng)
	}); a != 0 {
		t.Errorf("appendView: %v allocations", a)
	}
}

func isSubsequence(sub, all []string) bool {
	j := 0
	for _, w := range all {
		if j < len(sub) && sub[j] == w {
			j++
		}
	}
	return j == len(sub)
}

func approxEqual(a, b []float32, tol float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// TestAppendWords splits like the hasher: runs of letters, digits and
// combining marks.
func TestAppendWords(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"  ;; ", nil},
		{"(genetics) an organism's gene", []string{"genetics", "an", "organism", "s", "gene"}},
		{"Zürich café naïve 42x", []string{"Zürich", "café", "naïve", "42x"}},
		{"e\u0301t\u00e9", []string{"e\u0301t\u00e9"}},
		{"a\xffb", []string{"a", "b"}},
	} {
		var got []string
		for _, w := range appendWords(nil, tt.text) {
			got = append(got, tt.text[w.from:w.to])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("appendWords(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
