// Package projection turns high-dimensional embeddings into the 2D or 3D
// pictures a learner watches: PCA (exact and randomized), t-SNE (exact and
// Barnes-Hut), orthogonal Procrustes alignment between frames, quality
// figures (KL divergence, trustworthiness, kNN preservation) and Live, which
// turns a stream of epochs into a temporally coherent stream of frames.
//
// All inputs are float32, row-major, n×d: one row per item, as the trainer
// publishes its embeddings. Layout maths runs in float64; coordinates come
// back as float32, n×dims.
//
// Bad data (NaN or infinite values, a slice whose length is not n×d, too few
// points, a perplexity too large for n) is reported as an error wrapping one
// of the sentinel errors below; nothing in this package returns a layout that
// holds NaN.
//
// The package knows nothing of training runs, HTTP or websockets.
package projection
