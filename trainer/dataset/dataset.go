// Package dataset holds the in-memory form of every dataset the explorer
// trains on: items with input features, an optional label, a display payload
// and a train/held-out split. Datasets are immutable once built and may be
// shared by any number of concurrent runs.
package dataset

import "fmt"

// Kind says what the items of a dataset are, and so how they are displayed
// and augmented.
type Kind string

// The kinds of dataset.
const (
	Images       Kind = "images"       // grey images; features are pixels in [0,1]
	Text         Kind = "text"         // sentences (later issue)
	Interactions Kind = "interactions" // user–item interactions (later issue)
	Vectors      Kind = "vectors"      // plain numeric feature vectors
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

// NoLabel marks an unlabelled item in Dataset.Labels.
const NoLabel = -1

// Dataset is a set of items. Item i has features X[i*Dim:(i+1)*Dim], label
// Labels[i] (an index into ClassNames, or NoLabel) and split Splits[i].
type Dataset struct {
	Name        string // registry key, e.g. "digits"
	Title       string // human title, e.g. "Handwritten digits (UCI)"
	Description string // one or two sentences for a learner
	Source      string // attribution: where the data comes from
	License     string // licence name and note
	Kind        Kind

	Dim        int       // input feature dimension
	X          []float32 // n×Dim features, row-major
	Labels     []int32   // n labels, NoLabel when unlabelled
	ClassNames []string  // names of the label values
	Splits     []Split   // n splits

	// Width and Height are the image side lengths for Kind Images, whose
	// features are the grey pixels row by row, 0 black ... 1 white ink.
	Width, Height int
}

// Len returns the number of items.
func (d *Dataset) Len() int { return len(d.Labels) }

// Row returns item i's features, aliasing X: callers must not modify it.
func (d *Dataset) Row(i int) []float32 { return d.X[i*d.Dim : (i+1)*d.Dim : (i+1)*d.Dim] }

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

// Validate checks that the dataset's slices agree in length and its labels
// index ClassNames. It returns an error describing the first problem.
func (d *Dataset) Validate() error {
	n := len(d.Labels)
	switch {
	case d.Dim <= 0:
		return fmt.Errorf("dataset %s: dimension %d must be positive", d.Name, d.Dim)
	case len(d.X) != n*d.Dim:
		return fmt.Errorf("dataset %s: %d features for %d items of dimension %d", d.Name, len(d.X), n, d.Dim)
	case len(d.Splits) != n:
		return fmt.Errorf("dataset %s: %d splits for %d items", d.Name, len(d.Splits), n)
	case d.Kind == Images && d.Width*d.Height != d.Dim:
		return fmt.Errorf("dataset %s: %dx%d images but dimension %d", d.Name, d.Width, d.Height, d.Dim)
	}
	for i, l := range d.Labels {
		if l != NoLabel && (l < 0 || int(l) >= len(d.ClassNames)) {
			return fmt.Errorf("dataset %s: item %d has label %d outside %d classes", d.Name, i, l, len(d.ClassNames))
		}
	}
	return nil
}
