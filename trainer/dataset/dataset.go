// Package dataset holds the in-memory form of every dataset the explorer
// trains on: items with input features, an optional label, a display payload
// and a train/held-out split. Datasets are immutable once built and may be
// shared by any number of concurrent runs.
//
// Features come in one of two layouts. Images and plain vectors keep dense
// features in X (n×Dim, row-major). Text and interactions keep sparse
// features in Sparse (n×Dim in compressed sparse row form) and leave X empty:
// hashed word and character n-grams for text (see HashFeatures), one item-ID
// column per item for interactions. A trainer puts an embedding-bag layer in
// front of its network for sparse datasets.
//
// Parse reads uploaded files (CSV/TSV, zips of images, plain text,
// user–item interactions, Embedding Projector vectors) into a Dataset,
// validating as it streams and reporting bad input as a *ParseError.
package dataset

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Kind says what the items of a dataset are, and so how they are displayed
// and augmented.
type Kind string

// The kinds of dataset.
const (
	Images       Kind = "images"       // grey images; dense features are pixels in [0,1]
	Text         Kind = "text"         // texts; sparse hashed n-gram features, Text holds the texts
	Interactions Kind = "interactions" // items that users interacted with; sparse item-ID features
	Vectors      Kind = "vectors"      // plain dense numeric feature vectors
)

// Split says whether an item is trained on or held out for evaluation.
type Split uint8

// The splits.
const (
	Train Split = iota
	Test
)

// String returns "train" or "test".
func (s Split) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// NoLabel marks an unlabelled item in Dataset.Labels, and a user without a
// held-out item in Dataset.HeldOut.
const NoLabel = -1

// Dataset is a set of n items. Item i has features X[i*Dim:(i+1)*Dim] (dense
// layout) or row i of Sparse (sparse layout), label Labels[i] (an index into
// ClassNames, or NoLabel) and split Splits[i]. Exactly one of X and Sparse
// holds the features; Validate checks that the fields agree.
type Dataset struct {
	Name        string // registry key, e.g. "digits"
	Title       string // human title, e.g. "Handwritten digits (UCI)"
	Description string // one or two sentences for a learner
	Source      string // attribution: where the data comes from
	License     string // licence name and note
	Kind        Kind

	Dim        int       // input feature dimension: columns of X or of Sparse
	X          []float32 // n×Dim dense features, row-major; empty when Sparse is set
	Labels     []int32   // n labels, NoLabel when unlabelled
	ClassNames []string  // names of the label values
	Splits     []Split   // n splits

	// Width and Height are the image side lengths for Kind Images, whose
	// features are the grey pixels row by row, 0 black ... 1 white ink.
	Width, Height int

	// Sparse holds the features of Kind Text (n×Hash.Buckets hashed n-gram
	// weights) and Kind Interactions (n×n, one 1 per row at the item's own
	// index); nil for dense datasets.
	Sparse *CSR

	// Hash records the options that turned Text into Sparse, resolved (no
	// zero fields), so that new text (a headword, a query) can be
	// featurised the same way with HashFeatures. Zero when not hashed.
	Hash HashOptions

	// Text is the display payload of each item, n strings: a gloss or
	// sentence for Kind Text, a point's name from uploaded metadata, an
	// image's file name. Nil when there is none.
	Text []string

	// Headwords lists, per item, the words an item of Kind Text defines
	// (WordNet: the synset's lemmas, with spaces for underscores), for
	// "a word with its own gloss" positive pairs. Nil or n lists.
	Headwords [][]string

	// Precomputed marks a Kind Vectors dataset whose X are finished
	// embeddings (for example uploaded Embedding Projector vectors): explore
	// them as they are, without training.
	Precomputed bool

	// ItemNames names each item of Kind Interactions, n strings, e.g.
	// "Neon Harbor (synthwave)". Nil otherwise.
	ItemNames []string

	// Users holds, for Kind Interactions, each user's training items in
	// interaction order, oldest first: Users[u][k] indexes the items.
	Users [][]int32

	// HeldOut holds each user's held-out item (the user's last
	// interaction), or NoLabel (-1) for a user with none; len(Users)
	// entries. Recall@k asks whether it is among the k items nearest the
	// user's training items.
	HeldOut []int32
}

// Len returns the number of items.
func (d *Dataset) Len() int { return len(d.Labels) }

// Row returns item i's dense features, aliasing X: callers must not modify
// it. It panics for a sparse dataset (use SparseRow) or i out of range.
func (d *Dataset) Row(i int) []float32 { return d.X[i*d.Dim : (i+1)*d.Dim : (i+1)*d.Dim] }

// SparseRow returns item i's sparse features, column indices in increasing
// order and their values, aliasing Sparse: callers must not modify them. It
// panics for a dense dataset or i out of range.
func (d *Dataset) SparseRow(i int) (cols []int32, vals []float32) { return d.Sparse.Row(i) }

// Indices returns the indices of the items in split s, in order.
func (d *Dataset) Indices(s Split) []int {
	var idx []int
	for i, sp := range d.Splits {
		if sp == s {
			idx = append(idx, i)
		}
	}
	return idx
}

// Validate checks that the dataset's slices agree in length, that exactly
// one feature layout is filled and every feature is finite, that labels
// index ClassNames, and that the kind-specific fields (image size, texts,
// users and held-out items) are consistent. It returns an error describing
// the first problem.
func (d *Dataset) Validate() error {
	n := len(d.Labels)
	switch {
	case d.Dim <= 0:
		return d.errorf("dimension %d must be positive", d.Dim)
	case len(d.Splits) != n:
		return d.errorf("%d splits for %d items", len(d.Splits), n)
	case d.Kind == Images && d.Width*d.Height != d.Dim:
		return d.errorf("%dx%d images but dimension %d", d.Width, d.Height, d.Dim)
	case (d.Kind == Text || d.Kind == Interactions) && d.Sparse == nil:
		return d.errorf("kind %s needs sparse features", d.Kind)
	case (d.Kind == Images || d.Kind == Vectors) && d.Sparse != nil:
		return d.errorf("kind %s has dense features, but Sparse is set", d.Kind)
	case d.Precomputed && (d.Kind != Vectors || d.Sparse != nil):
		return d.errorf("only dense vectors can be precomputed, not kind %s", d.Kind)
	}
	if d.Sparse == nil {
		if len(d.X) != n*d.Dim {
			return d.errorf("%d features for %d items of dimension %d", len(d.X), n, d.Dim)
		}
		for i, v := range d.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return d.errorf("item %d feature %d is %v", i/d.Dim, i%d.Dim, v)
			}
		}
	} else {
		if len(d.X) != 0 {
			return d.errorf("both dense (%d values) and sparse features", len(d.X))
		}
		if d.Sparse.Cols != d.Dim {
			return d.errorf("sparse features have %d columns but dimension %d", d.Sparse.Cols, d.Dim)
		}
		if r := d.Sparse.Rows(); r != n {
			return d.errorf("%d sparse rows for %d items", r, n)
		}
		if err := d.Sparse.Validate(); err != nil {
			return d.errorf("%v", err)
		}
	}
	for i, l := range d.Labels {
		if l != NoLabel && (l < 0 || int(l) >= len(d.ClassNames)) {
			return d.errorf("item %d has label %d outside %d classes", i, l, len(d.ClassNames))
		}
	}
	if d.Hash != (HashOptions{}) && (d.Hash.Buckets != d.Dim || d.Hash.Features == 0) {
		return d.errorf("hash options %+v unresolved or disagree with dimension %d", d.Hash, d.Dim)
	}
	if d.Kind == Text && d.Text == nil {
		return d.errorf("kind text without texts")
	}
	if err := d.checkStrings("text", d.Text); err != nil {
		return err
	}
	if err := d.checkStrings("item name", d.ItemNames); err != nil {
		return err
	}
	if d.Headwords != nil && len(d.Headwords) != n {
		return d.errorf("%d headword lists for %d items", len(d.Headwords), n)
	}
	for i, ws := range d.Headwords {
		for _, w := range ws {
			if !utf8.ValidString(w) {
				return d.errorf("item %d has a headword that is not valid UTF-8", i)
			}
		}
	}
	if d.Kind != Interactions && (d.Users != nil || d.HeldOut != nil) {
		return d.errorf("users and held-out items belong to kind interactions, not %s", d.Kind)
	}
	if len(d.HeldOut) != len(d.Users) {
		return d.errorf("%d held-out entries for %d users", len(d.HeldOut), len(d.Users))
	}
	for u, items := range d.Users {
		for _, it := range items {
			if it < 0 || int(it) >= n {
				return d.errorf("user %d has item %d outside %d items", u, it, n)
			}
		}
		if h := d.HeldOut[u]; h != NoLabel && (h < 0 || int(h) >= n) {
			return d.errorf("user %d has held-out item %d outside %d items", u, h, n)
		}
	}
	return nil
}

func (d *Dataset) checkStrings(what string, s []string) error {
	if s == nil {
		return nil
	}
	if len(s) != len(d.Labels) {
		return d.errorf("%d %ss for %d items", len(s), what, len(d.Labels))
	}
	for i, t := range s {
		if !utf8.ValidString(t) {
			return d.errorf("item %d: %s is not valid UTF-8", i, what)
		}
	}
	return nil
}

func (d *Dataset) errorf(format string, args ...any) error {
	return fmt.Errorf("dataset %s: %s", d.Name, fmt.Sprintf(format, args...))
}

// CSR is a sparse matrix in compressed sparse row form. Row i has the values
// Values[Indptr[i]:Indptr[i+1]] in the columns Indices[Indptr[i]:Indptr[i+1]],
// which strictly increase within a row; every other entry is zero.
type CSR struct {
	Cols    int       // number of columns
	Indptr  []int     // rows+1 offsets into Indices and Values, from 0 up to nnz
	Indices []int32   // nnz column indices, each in [0, Cols)
	Values  []float32 // nnz finite values
}

// Rows returns the number of rows, len(Indptr)-1 (0 for an empty matrix).
func (m *CSR) Rows() int { return max(len(m.Indptr)-1, 0) }

// NNZ returns the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Indices) }

// Row returns row i's column indices and values, aliasing m: callers must
// not modify them. It panics if i is out of range.
func (m *CSR) Row(i int) (cols []int32, vals []float32) {
	a, b := m.Indptr[i], m.Indptr[i+1]
	return m.Indices[a:b:b], m.Values[a:b:b]
}

// Validate checks the structure: Indptr starts at 0, never decreases and
// ends at len(Indices) == len(Values); column indices lie in [0, Cols) and
// strictly increase within each row; values are finite.
func (m *CSR) Validate() error {
	nnz := len(m.Indices)
	switch {
	case m.Cols <= 0:
		return fmt.Errorf("sparse: %d columns", m.Cols)
	case len(m.Indptr) == 0:
		return fmt.Errorf("sparse: empty row pointer")
	case m.Indptr[0] != 0:
		return fmt.Errorf("sparse: row pointer starts at %d", m.Indptr[0])
	case len(m.Values) != nnz:
		return fmt.Errorf("sparse: %d values for %d indices", len(m.Values), nnz)
	case m.Indptr[len(m.Indptr)-1] != nnz:
		return fmt.Errorf("sparse: row pointer ends at %d, want %d", m.Indptr[len(m.Indptr)-1], nnz)
	}
	for i := range m.Rows() {
		a, b := m.Indptr[i], m.Indptr[i+1]
		if b < a || b > nnz {
			return fmt.Errorf("sparse: row %d spans [%d, %d)", i, a, b)
		}
		prev := int32(-1)
		for k := a; k < b; k++ {
			c := m.Indices[k]
			if c <= prev || int(c) >= m.Cols {
				return fmt.Errorf("sparse: row %d column %d out of order or outside %d columns", i, c, m.Cols)
			}
			prev = c
			if v := float64(m.Values[k]); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("sparse: row %d column %d is %v", i, c, v)
			}
		}
	}
	return nil
}

// Identity returns the n×n identity matrix in CSR form: the item-ID
// features of n interaction items. It panics if n is negative.
func Identity(n int) *CSR {
	m := &CSR{Cols: n, Indptr: make([]int, n+1), Indices: make([]int32, n), Values: make([]float32, n)}
	for i := range n {
		m.Indptr[i+1] = i + 1
		m.Indices[i] = int32(i)
		m.Values[i] = 1
	}
	return m
}
