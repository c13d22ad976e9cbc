package trainer

import (
	"math"
	"math/rand/v2"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// sparseRows is a batch of sparse rows in CSR form whose columns are rows of
// the embedding bag. Appending reuses the slices' capacity, so a warm batch
// allocates nothing.
type sparseRows struct {
	ptr  []int // rows+1 offsets into cols and vals, ptr[0] = 0
	cols []int32
	vals []float32
}

func (s *sparseRows) reset() {
	s.ptr = append(s.ptr[:0], 0)
	s.cols, s.vals = s.cols[:0], s.vals[:0]
}

// rows returns the number of complete rows.
func (s *sparseRows) rows() int { return len(s.ptr) - 1 }

// row returns row r's bag rows and values.
func (s *sparseRows) row(r int) ([]int32, []float32) {
	a, b := s.ptr[r], s.ptr[r+1]
	return s.cols[a:b], s.vals[a:b]
}

// appendRow adds a row.
func (s *sparseRows) appendRow(cols []int32, vals []float32) {
	s.cols = append(s.cols, cols...)
	s.vals = append(s.vals, vals...)
	s.ptr = append(s.ptr, len(s.cols))
}

// slice returns rows [from, to) as a sparseRows sharing s's storage; its
// offsets are absolute, so it is for reading only (bag.forward handles
// ptr[0] ≠ 0).
func (s *sparseRows) slice(from, to int) sparseRows {
	return sparseRows{ptr: s.ptr[from : to+1], cols: s.cols, vals: s.vals}
}

// sparseInputs is what the trainer knows about a sparse dataset's features:
// the vocabulary, which gives every feature column that occurs in the
// dataset (and, for headword pairs, in its headwords) a row of the
// embedding bag, and every item's features in bag rows.
//
// Columns outside the vocabulary (a hash bucket that only a rehashed
// augmented view produces, such as the bigram of two words a deletion made
// neighbours) have no bag row and are dropped from the view: no item of the
// dataset uses them, so their embeddings could never reach a published
// embedding.
type sparseInputs struct {
	d       *dataset.Dataset
	rowOf   []int32    // Dim entries: the bag row of each column, -1 if none
	vocab   int        // number of bag rows
	items   sparseRows // n rows, the items' features
	maxNNZ  int        // the most features of one item or headword
	maxText int        // the longest text or headword, in bytes

	// Headword pairs: item i's headwords are rows hwFrom[i]..hwFrom[i+1] of
	// hw, and the words themselves are d.Headwords[i].
	hw     sparseRows
	hwFrom []int

	// Text views: item i's words are the byte ranges
	// words[wordFrom[i]..wordFrom[i+1]] of d.Text[i].
	words    []wordSpan
	wordFrom []int
	hasher   *dataset.Hasher
	scCols   []int32 // scratch: a view's hashed buckets
	scVals   []float32
	keep     []bool // scratch: which words a view keeps
}

// wordSpan is a word's byte range in a text.
type wordSpan struct{ from, to int32 }

// bagRows returns the number of rows the embedding bag of d needs: the
// distinct feature columns of its items, plus those of its headwords when
// withHeadwords; and then the most features of one headword.
func bagRows(d *dataset.Dataset, withHeadwords bool) (rows, headwordNNZ int) {
	seen := make([]uint64, (d.Dim+63)/64)
	mark := func(cols []int32) {
		for _, c := range cols {
			if seen[c/64]&(1<<(c%64)) == 0 {
				seen[c/64] |= 1 << (c % 64)
				rows++
			}
		}
	}
	mark(d.Sparse.Indices)
	if withHeadwords && d.Headwords != nil {
		h := dataset.NewHasher(d.Hash)
		var cols []int32
		var vals []float32
		for _, ws := range d.Headwords {
			for _, w := range ws {
				cols, vals = h.Append(cols[:0], vals[:0], w)
				mark(cols)
				headwordNNZ = max(headwordNNZ, len(cols))
			}
		}
	}
	return rows, headwordNNZ
}

// headwordItems returns the items of split s that have at least one
// headword.
func headwordItems(d *dataset.Dataset, s dataset.Split) []int {
	var idx []int
	for i, sp := range d.Splits {
		if sp == s && i < len(d.Headwords) && len(d.Headwords[i]) > 0 {
			idx = append(idx, i)
		}
	}
	return idx
}

// countPlays returns the number of training plays of users who have at
// least two, the anchors of cooccur pairs.
func countPlays(d *dataset.Dataset) int {
	n := 0
	for _, u := range d.Users {
		if len(u) >= 2 {
			n += len(u)
		}
	}
	return n
}

// newSparseInputs builds the vocabulary and the items' bag rows of the
// sparse dataset d; headwords adds the headwords' features (for headword
// pairs) and views the word spans of the texts (for augmented text views).
func newSparseInputs(d *dataset.Dataset, headwords, views bool) *sparseInputs {
	s := &sparseInputs{d: d, rowOf: make([]int32, d.Dim)}
	for i := range s.rowOf {
		s.rowOf[i] = -1
	}
	// Bag rows in column order, so the table's layout does not depend on the
	// order items are listed in.
	for _, c := range d.Sparse.Indices {
		s.rowOf[c] = 0
	}
	var hwCols [][]int32
	var hwVals [][]float32
	if headwords && d.Headwords != nil {
		s.hasher = dataset.NewHasher(d.Hash)
		for _, ws := range d.Headwords {
			for _, w := range ws {
				s.maxText = max(s.maxText, len(w))
				cols, vals := s.hasher.Append(nil, nil, w)
				hwCols, hwVals = append(hwCols, cols), append(hwVals, vals)
				for _, c := range cols {
					s.rowOf[c] = 0
				}
			}
		}
	}
	for c, r := range s.rowOf {
		if r == 0 {
			s.rowOf[c] = int32(s.vocab)
			s.vocab++
		}
	}

	n := d.Len()
	s.items = sparseRows{ptr: make([]int, 1, n+1), cols: make([]int32, 0, d.Sparse.NNZ()), vals: make([]float32, 0, d.Sparse.NNZ())}
	for i := range n {
		cols, vals := d.SparseRow(i)
		s.maxNNZ = max(s.maxNNZ, len(cols))
		for _, c := range cols {
			s.items.cols = append(s.items.cols, s.rowOf[c])
		}
		s.items.vals = append(s.items.vals, vals...)
		s.items.ptr = append(s.items.ptr, len(s.items.cols))
	}
	if hwCols != nil {
		s.hw.reset()
		s.hwFrom = make([]int, 1, n+1)
		k := 0
		for _, ws := range d.Headwords {
			for range ws {
				for j, c := range hwCols[k] {
					hwCols[k][j] = s.rowOf[c]
				}
				s.maxNNZ = max(s.maxNNZ, len(hwCols[k]))
				s.hw.appendRow(hwCols[k], hwVals[k])
				k++
			}
			s.hwFrom = append(s.hwFrom, s.hw.rows())
		}
	}
	if views && d.Kind == dataset.Text {
		if s.hasher == nil {
			s.hasher = dataset.NewHasher(d.Hash)
		}
		s.wordFrom = make([]int, 1, n+1)
		longest, maxWords := "", 0
		for _, t := range d.Text {
			if len(t) > len(longest) {
				longest = t
			}
			s.words = appendWords(s.words, t)
			s.wordFrom = append(s.wordFrom, len(s.words))
			maxWords = max(maxWords, s.wordFrom[len(s.wordFrom)-1]-s.wordFrom[len(s.wordFrom)-2])
		}
		s.maxText = max(s.maxText, len(longest))
		// Views are never longer than their texts: size the scratch space
		// (the hasher's too) for the longest once.
		s.keep = make([]bool, maxWords)
		s.scCols, s.scVals = s.hasher.Append(nil, nil, longest)
	}
	return s
}

// appendWords appends the byte ranges of text's words, as
// dataset.HashFeatures splits them: maximal runs of letters, digits and
// combining marks.
func appendWords(spans []wordSpan, text string) []wordSpan {
	start := -1
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		var isWord bool
		if r < utf8.RuneSelf {
			isWord = 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		} else {
			r, size = utf8.DecodeRuneInString(text[i:])
			isWord = r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
		}
		switch {
		case isWord && start < 0:
			start = i
		case !isWord && start >= 0:
			spans = append(spans, wordSpan{int32(start), int32(i)})
			start = -1
		}
		i += size
	}
	if start >= 0 {
		spans = append(spans, wordSpan{int32(start), int32(len(text))})
	}
	return spans
}

// appendItem appends item i's features to dst.
func (s *sparseInputs) appendItem(dst *sparseRows, i int) {
	dst.appendRow(s.items.row(i))
}

// headwordCount returns how many headwords item i has.
func (s *sparseInputs) headwordCount(i int) int { return s.hwFrom[i+1] - s.hwFrom[i] }

// appendHeadword appends the features of item i's k-th headword to dst and
// returns the word.
func (s *sparseInputs) appendHeadword(dst *sparseRows, i, k int) string {
	dst.appendRow(s.hw.row(s.hwFrom[i] + k))
	return s.d.Headwords[i][k]
}

// textView describes how augmented text views are made at one strength s:
// first a random contiguous span of up to round(SpanFrac·s·n) of the text's
// n words is deleted, then every remaining word is dropped with probability
// Dropout·s; at least one word always remains.
const (
	viewSpanFrac = 0.6
	viewDropout  = 0.3
)

// appendView appends the features of a random view of item i's text at
// strength strength to dst, writing the view's text to *text (appended),
// using rng for every draw. It allocates nothing once the scratch space
// and dst have grown.
func (s *sparseInputs) appendView(dst *sparseRows, text *[]byte, i int, strength float64, rng *rand.Rand) {
	src := s.d.Text[i]
	words := s.words[s.wordFrom[i]:s.wordFrom[i+1]]
	n := len(words)
	if cap(s.keep) < n {
		s.keep = make([]bool, n)
	}
	keep := s.keep[:n]
	for k := range keep {
		keep[k] = true
	}
	if n > 1 {
		if span := int(math.Round(viewSpanFrac * strength * float64(n))); span > 0 {
			span = min(rng.IntN(span+1), n-1)
			start := rng.IntN(n - span + 1)
			for k := start; k < start+span; k++ {
				keep[k] = false
			}
		}
		p := viewDropout * strength
		kept := 0
		for k := range keep {
			if keep[k] && rng.Float64() < p {
				keep[k] = false
			}
			if keep[k] {
				kept++
			}
		}
		if kept == 0 {
			keep[rng.IntN(n)] = true
		}
	}
	from := len(*text)
	for k, w := range words {
		if !keep[k] {
			continue
		}
		if len(*text) > from {
			*text = append(*text, ' ')
		}
		*text = append(*text, src[w.from:w.to]...)
	}
	s.appendHashed(dst, (*text)[from:])
}

// appendHashed appends the features of text (hashed as the dataset's texts
// were) that have a bag row, rescaled to unit length, to dst.
func (s *sparseInputs) appendHashed(dst *sparseRows, text []byte) {
	// The Hasher reads the string during the call and keeps no reference
	// to it, and text is not modified meanwhile, so viewing the bytes as a
	// string saves a copy per view.
	str := unsafe.String(unsafe.SliceData(text), len(text))
	s.scCols, s.scVals = s.hasher.Append(s.scCols[:0], s.scVals[:0], str)
	from := len(dst.cols)
	var ss float64
	for k, c := range s.scCols {
		if r := s.rowOf[c]; r >= 0 {
			v := s.scVals[k]
			dst.cols = append(dst.cols, r)
			dst.vals = append(dst.vals, v)
			ss += float64(v) * float64(v)
		}
	}
	if ss > 0 {
		inv := float32(1 / math.Sqrt(ss))
		for k := from; k < len(dst.vals); k++ {
			dst.vals[k] *= inv
		}
	}
	dst.ptr = append(dst.ptr, len(dst.cols))
}
