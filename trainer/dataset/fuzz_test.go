package dataset_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// fuzzLimits keep each fuzz input cheap while still letting the limits
// trigger.
var fuzzLimits = dataset.Limits{
	MaxBytes: 1 << 16, MaxItems: 500, MaxDims: 64, MaxClasses: 20, MaxLineBytes: 4096,
	MaxFeatures: 50_000, MaxUsers: 200, MaxInteractions: 2000,
	MaxEntries: 200, MaxEntryBytes: 1 << 20, MaxTotalBytes: 4 << 20, MaxImagePixels: 1 << 16,
	MaxPixels: 1 << 18, MaxDatasetBytes: 4 << 20,
}

// fuzzParse parses data as format and checks the contract: a *ParseError
// with a printable message in a person's words, or a dataset that
// validates.
func fuzzParse(t *testing.T, name string, data []byte, format dataset.Format, opts dataset.ParseOptions) {
	opts.Format, opts.Limits = format, fuzzLimits
	ds, err := dataset.Parse(name, bytes.NewReader(data), opts)
	if err != nil {
		var pe *dataset.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *ParseError", err, err)
		}
		if pe.File == "" || pe.Msg == "" || pe.Line < 0 || pe.Column < 0 || !utf8.ValidString(err.Error()) {
			t.Fatalf("malformed error %#v", pe)
		}
		checkWords(t, pe)
		return
	}
	if err := ds.Validate(); err != nil {
		t.Fatalf("Parse returned an invalid dataset: %v", err)
	}
	if ds.Len() < dataset.MinItems || ds.Len() > fuzzLimits.MaxItems || len(ds.ClassNames) > fuzzLimits.MaxClasses {
		t.Fatalf("%d items, %d classes: outside the limits", ds.Len(), len(ds.ClassNames))
	}
	if ds.Sparse == nil && ds.Dim > fuzzLimits.MaxDims {
		t.Fatalf("dimension %d over the limit", ds.Dim)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvRows(12, 3, 2)))
	f.Add([]byte("label,text\n" + texts(10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, "data.csv", data, dataset.FormatCSV, dataset.ParseOptions{Scale: dataset.ScaleStandard})
	})
}

func FuzzParseText(f *testing.F) {
	f.Add([]byte(texts(12)))
	f.Add([]byte("pos\tgood\nneg\tbad\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, "notes.txt", data, dataset.FormatText, dataset.ParseOptions{})
	})
}

func FuzzParseInteractions(f *testing.F) {
	f.Add([]byte("user,item,timestamp\n" + pairs(12)))
	f.Add([]byte(pairs(20)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, "plays.csv", data, dataset.FormatInteractions, dataset.ParseOptions{})
	})
}

func FuzzParseProjector(f *testing.F) {
	f.Add([]byte(vecs(12)), []byte("word\tlabel\n"+lines(12, func(i int) string { return "w\tx" })))
	f.Add([]byte(vecs(12)), []byte(nil))
	f.Fuzz(func(t *testing.T, vectors, meta []byte) {
		opts := dataset.ParseOptions{}
		if len(meta) > 0 { // the corpus format has no nil, so empty means none
			opts.Metadata, opts.MetadataName = bytes.NewReader(meta), "metadata.tsv"
		}
		fuzzParse(t, "vectors.tsv", vectors, dataset.FormatProjector, opts)
	})
}

func FuzzParseImages(f *testing.F) {
	f.Add(imageZip(f, 12, 3, 4))
	f.Add(makeZip(f, entry{"vectors.tsv", []byte(vecs(10))}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParse(t, "images.zip", data, dataset.FormatImages, dataset.ParseOptions{Side: 8})
	})
}

func FuzzHashFeatures(f *testing.F) {
	f.Add("The cat sat on the mat", uint16(1000))
	f.Add("naïve café — 42\xff", uint16(1))
	f.Fuzz(func(t *testing.T, text string, buckets uint16) {
		opts := dataset.HashOptions{Buckets: int(buckets)}
		cols, vals := dataset.HashFeatures(text, opts)
		again, _ := dataset.HashFeatures(text, opts)
		if !slices.Equal(cols, again) || len(cols) != len(vals) {
			t.Fatal("features differ between calls")
		}
		n := opts.Resolved().Buckets
		for i, c := range cols {
			if c < 0 || int(c) >= n || i > 0 && c <= cols[i-1] || !(vals[i] > 0 && vals[i] <= 1) {
				t.Fatalf("bad feature %d: column %d value %g", i, c, vals[i])
			}
		}
		_ = dataset.Detect(text, []byte(text))
	})
}
