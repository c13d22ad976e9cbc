package run

import (
	"unicode/utf8"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Dataset is a dataset as runs use it: bundled with the binary or
// uploaded, described and loaded.
type Dataset struct {
	ID          string // the key runs name: a bundled dataset's name or an upload's id
	Name        string // a bundled dataset's name, an upload's file name
	Info        dataset.Info
	Format      string // an upload's format (dataset.Format); "" for bundled datasets
	Uploaded    bool
	Precomputed bool // finished embeddings: explored without training
	// Synthetic marks made-up data, which the explorer labels as such. The
	// bundled data says so in its source line; uploads are never marked.
	Synthetic bool
	// Data is the dataset itself, shared: it must not be modified. It is
	// nil in a listing that did not load it.
	Data *dataset.Dataset
}

// Catalog is where the bundled datasets come from.
type Catalog interface {
	// List describes every dataset, cheaply (nothing is decoded).
	List() []dataset.Info
	// Load returns a dataset by name, or an error for a name it does not
	// know. The dataset is shared: callers must not modify it.
	Load(name string) (*dataset.Dataset, error)
}

// DisplayTextMax is how many characters of an item's text the explorer
// sends for display (hello, search results).
const DisplayTextMax = 300

// ClipText cuts s to DisplayTextMax characters, marking the cut with "…".
func ClipText(s string) string {
	if len(s) <= DisplayTextMax || utf8.RuneCountInString(s) <= DisplayTextMax {
		return s
	}
	r := []rune(s)
	return string(r[:DisplayTextMax-1]) + "…"
}
