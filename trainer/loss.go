package trainer

// Loss is a contrastive loss over one batch of embeddings.
//
// The batch is B rows of dimension d, row-major in z, normally L2-normalised
// by the encoder. groups[i] names row i's positive group: rows i != j form a
// positive pair exactly when groups[i] == groups[j]; every other pair is a
// negative pair. (Pairs from labels use the class as group; pairs from
// augmentations use the item, so the two views of one item are each other's
// only positive.)
//
// Compute returns the mean loss over the batch and writes dLoss/dz into grad
// (B×d, overwritten). It must not allocate once warm for a given B and d:
// implementations keep their scratch space.
type Loss interface {
	Compute(z []float32, b, d int, groups []int32, grad []float32) float64
	// Name is the loss's flag value, e.g. "supcon".
	Name() string
}
