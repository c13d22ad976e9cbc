package dataset_test

import (
	"math"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

func validVectors() *dataset.Dataset {
	return &dataset.Dataset{
		Name: "v", Kind: dataset.Vectors, Dim: 2,
		X:      []float32{0, 1, 2, 3, 4, 5},
		Labels: []int32{0, 1, dataset.NoLabel}, ClassNames: []string{"a", "b"},
		Splits: []dataset.Split{dataset.Train, dataset.Test, dataset.Train},
	}
}

func validText() *dataset.Dataset {
	h := dataset.NewHasher(dataset.HashOptions{Buckets: 64})
	sp := &dataset.CSR{Cols: 64, Indptr: []int{0}}
	texts := []string{"red apple", "green pear", "blue sky"}
	for _, t := range texts {
		sp.Indices, sp.Values = h.Append(sp.Indices, sp.Values, t)
		sp.Indptr = append(sp.Indptr, len(sp.Indices))
	}
	return &dataset.Dataset{
		Name: "t", Kind: dataset.Text, Dim: 64, Sparse: sp, Hash: h.Options(), Text: texts,
		Headwords: [][]string{{"apple"}, {"pear"}, nil},
		Labels:    []int32{0, 0, 1}, ClassNames: []string{"fruit", "other"},
		Splits: make([]dataset.Split, 3),
	}
}

func validInteractions() *dataset.Dataset {
	return &dataset.Dataset{
		Name: "i", Kind: dataset.Interactions, Dim: 3, Sparse: dataset.Identity(3),
		Labels: []int32{0, 1, 0}, ClassNames: []string{"jazz", "rock"}, Splits: make([]dataset.Split, 3),
		ItemNames: []string{"A", "B", "C"},
		Users:     [][]int32{{0, 1}, {2}, {}},
		HeldOut:   []int32{2, 0, dataset.NoLabel},
	}
}

func TestValidate(t *testing.T) {
	for name, d := range map[string]*dataset.Dataset{
		"vectors": validVectors(), "text": validText(), "interactions": validInteractions(),
	} {
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	tests := []struct {
		name  string
		base  func() *dataset.Dataset
		spoil func(d *dataset.Dataset)
		want  string
	}{
		{"zero dim", validVectors, func(d *dataset.Dataset) { d.Dim = 0 }, "dimension 0"},
		{"short X", validVectors, func(d *dataset.Dataset) { d.X = d.X[:5] }, "5 features for 3 items"},
		{"NaN", validVectors, func(d *dataset.Dataset) { d.X[3] = float32(math.NaN()) }, "item 1 feature 1 is NaN"},
		{"Inf", validVectors, func(d *dataset.Dataset) { d.X[0] = float32(math.Inf(-1)) }, "item 0 feature 0 is -Inf"},
		{"splits", validVectors, func(d *dataset.Dataset) { d.Splits = d.Splits[:2] }, "2 splits for 3 items"},
		{"label", validVectors, func(d *dataset.Dataset) { d.Labels[1] = 2 }, "item 1 has label 2 outside 2 classes"},
		{"text length", validVectors, func(d *dataset.Dataset) { d.Text = []string{"a"} }, "1 texts for 3 items"},
		{"text UTF-8", validVectors, func(d *dataset.Dataset) { d.Text = []string{"a", "\xff", "c"} }, "item 1: text is not valid UTF-8"},
		{"image size", validVectors, func(d *dataset.Dataset) { d.Kind = dataset.Images; d.Width, d.Height = 2, 2 }, "2x2 images but dimension 2"},
		{"precomputed sparse", validText, func(d *dataset.Dataset) { d.Precomputed = true }, "only dense vectors can be precomputed"},
		{"users on vectors", validVectors, func(d *dataset.Dataset) { d.Users = [][]int32{{0}}; d.HeldOut = []int32{1} }, "users and held-out items belong to kind interactions"},
		{"text needs sparse", validText, func(d *dataset.Dataset) { d.Sparse = nil; d.X = make([]float32, 3*64) }, "kind text needs sparse features"},
		{"vectors with sparse", validText, func(d *dataset.Dataset) { d.Kind = dataset.Vectors; d.Hash = dataset.HashOptions{} }, "kind vectors has dense features, but Sparse is set"},
		{"both layouts", validText, func(d *dataset.Dataset) { d.X = []float32{1} }, "both dense (1 values) and sparse features"},
		{"sparse cols", validText, func(d *dataset.Dataset) { d.Sparse.Cols = 32 }, "sparse features have 32 columns but dimension 64"},
		{"sparse rows", validText, func(d *dataset.Dataset) { d.Sparse.Indptr = d.Sparse.Indptr[:3] }, "2 sparse rows for 3 items"},
		{"sparse order", validText, func(d *dataset.Dataset) {
			d.Sparse.Indices[0], d.Sparse.Indices[1] = d.Sparse.Indices[1], d.Sparse.Indices[0]
		}, "row 0 column"},
		{"sparse range", validText, func(d *dataset.Dataset) { d.Sparse.Indices[d.Sparse.NNZ()-1] = 64 }, "column 64 out of order or outside 64 columns"},
		{"sparse NaN", validText, func(d *dataset.Dataset) { d.Sparse.Values[0] = float32(math.NaN()) }, "is NaN"},
		{"sparse end", validText, func(d *dataset.Dataset) { d.Sparse.Values = d.Sparse.Values[1:] }, "values for"},
		{"hash disagrees", validText, func(d *dataset.Dataset) { d.Hash.Buckets = 128 }, "hash options"},
		{"text missing", validText, func(d *dataset.Dataset) { d.Text = nil }, "kind text without texts"},
		{"headwords", validText, func(d *dataset.Dataset) { d.Headwords = d.Headwords[:1] }, "1 headword lists for 3 items"},
		{"headword UTF-8", validText, func(d *dataset.Dataset) { d.Headwords[2] = []string{"\xc3"} }, "item 2 has a headword that is not valid UTF-8"},
		{"held-out length", validInteractions, func(d *dataset.Dataset) { d.HeldOut = d.HeldOut[:2] }, "2 held-out entries for 3 users"},
		{"user item", validInteractions, func(d *dataset.Dataset) { d.Users[1][0] = 3 }, "user 1 has item 3 outside 3 items"},
		{"held-out item", validInteractions, func(d *dataset.Dataset) { d.HeldOut[0] = -2 }, "user 0 has held-out item -2 outside 3 items"},
		{"item names", validInteractions, func(d *dataset.Dataset) { d.ItemNames = d.ItemNames[:1] }, "1 item names for 3 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.base()
			tt.spoil(d)
			err := d.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCSR(t *testing.T) {
	m := dataset.Identity(4)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Rows() != 4 || m.NNZ() != 4 {
		t.Errorf("rows %d nnz %d", m.Rows(), m.NNZ())
	}
	cols, vals := m.Row(2)
	if len(cols) != 1 || cols[0] != 2 || vals[0] != 1 {
		t.Errorf("row 2: %v %v", cols, vals)
	}
	d := validText()
	c1, v1 := d.SparseRow(1)
	c2, v2 := dataset.HashFeatures("green pear", dataset.HashOptions{Buckets: 64})
	if len(c1) != len(c2) || c1[0] != c2[0] || v1[0] != v2[0] {
		t.Errorf("SparseRow(1) = %v %v, want %v %v", c1, v1, c2, v2)
	}
	if empty := (&dataset.CSR{}); empty.Rows() != 0 || empty.Validate() == nil {
		t.Errorf("empty CSR: %d rows, validate %v", empty.Rows(), empty.Validate())
	}
}
