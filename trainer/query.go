package trainer

import (
	"errors"
	"fmt"
	"math"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// ErrNoKnownWords is the error EmbedText returns for a query none of whose
// features the encoder has a weight for: an empty query, one of only
// punctuation, or one whose words, bigrams and trigrams occur in no item.
var ErrNoKnownWords = errors.New("query has no words the encoder knows")

// EmbedText returns the embedding of a new text q (Dim values, unit
// length) under the run's encoder: q is featurised as the dataset's texts
// were (dataset.HashFeatures with the dataset's Hash options), the features
// that have a row in the embedding bag are kept (rescaled to unit length
// when some were dropped, as augmented views are), and the row goes through
// the bag, the MLP and the L2 normalisation. The exact text of an item
// therefore embeds, up to float rounding, as that item does.
//
// The weights are the latest: while the run trains they may be a few steps
// newer than the newest published epoch (Latest), and always newer than
// earlier epochs, so a caller that compares the result with an epoch's
// Embeddings compares the current encoder's view of q with that epoch's
// view of the items. Once Run has returned they are those of the last
// published epoch.
//
// It may be called from any goroutine, during training too: it holds the
// weights still for one single-row forward pass (microseconds), so training
// waits at most that long. It returns ErrNoKnownWords for a query without
// known features, and an error for a dataset that is not text or a run
// whose encoder Run has not built yet.
func (r *Run) EmbedText(q string) ([]float32, error) {
	d := r.data
	if d.Kind != dataset.Text || d.Sparse == nil {
		return nil, fmt.Errorf("trainer: cannot embed text with an encoder of %s data (dataset %s)", d.Kind, d.Name)
	}
	cols, vals := dataset.HashFeatures(q, d.Hash)
	if len(cols) == 0 {
		return nil, ErrNoKnownWords
	}
	r.encMu.RLock()
	defer r.encMu.RUnlock()
	if r.enc == nil {
		return nil, errors.New("trainer: the run has not started: no encoder to embed text with")
	}
	in := knownFeatures(cols, vals, r.rowOf)
	if len(in.cols) == 0 {
		return nil, ErrNoKnownWords
	}
	return r.enc.embedRow(&in), nil
}

// knownFeatures returns the hashed features cols, vals as a one-row batch
// of bag rows (rowOf maps columns to rows, -1 for none), leaving out those
// without a row and rescaling the rest to unit length if any were left out.
func knownFeatures(cols []int32, vals []float32, rowOf []int32) sparseRows {
	in := sparseRows{ptr: []int{0}, cols: make([]int32, 0, len(cols)), vals: make([]float32, 0, len(cols))}
	var ss float64
	for k, c := range cols {
		if r := rowOf[c]; r >= 0 {
			in.cols = append(in.cols, r)
			in.vals = append(in.vals, vals[k])
			ss += float64(vals[k]) * float64(vals[k])
		}
	}
	if len(in.cols) < len(cols) && ss > 0 {
		// The item rows keep HashFeatures' weights as they are; only a
		// query that lost features is renormalised, so an item's own text
		// gives exactly its features.
		inv := float32(1 / math.Sqrt(ss))
		for k := range in.vals {
			in.vals[k] *= inv
		}
	}
	in.ptr = append(in.ptr, len(in.cols))
	return in
}

// embedRow returns the embedding of the one sparse row in, with buffers of
// its own: it only reads the weights, so it may run alongside training's
// forward and backward passes and the epoch's Embed, which use the
// network's buffers (but not alongside a weight update).
func (n *network) embedRow(in *sparseRows) []float32 {
	x := make([]float32, n.bag.width)
	bagProduct(n.bag.w, n.bag.width, in, 1, x)
	return n.mlp.embedFresh(x, 1)
}

// embedFresh is Embed for a few rows x (rows×InDim) into a new rows×D
// slice, allocating its intermediate buffers instead of using the MLP's.
func (m *MLP) embedFresh(x []float32, rows int) []float32 {
	last := len(m.layers) - 1
	src := x[:rows*m.InDim()]
	for l, ly := range m.layers {
		h := make([]float32, rows*ly.out)
		linear(ly, src, rows, h)
		if l < last {
			relu(h)
		}
		src = h
	}
	normalizeRows(src, rows, m.OutDim(), src, make([]float32, rows))
	return src
}
