package runner

import (
	"context"
	"math"
	"sync"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/nearest"
)

// precomputed is the Trainer of a run on finished embeddings (a dataset
// with Precomputed set, such as uploaded Embedding Projector vectors):
// nothing is trained, Run publishes the vectors once as epoch 0 and ends.
// Everything downstream (projection, history, neighbours, search) treats
// that epoch like any other, so the run manager needs no special case
// beyond choosing this source.
type precomputed struct {
	cfg trainer.Config
	ds  *dataset.Dataset

	mu   sync.Mutex
	subs []chan trainer.Epoch
}

// newPrecomputed returns the source of a run on d. The config's training
// fields mean nothing here and are kept as given, but for Epochs, which is
// 0: epoch 0 is all there is.
func newPrecomputed(cfg trainer.Config, d *dataset.Dataset) *precomputed {
	cfg.Dataset = d.Name
	cfg.Epochs = 0
	return &precomputed{cfg: cfg, ds: d}
}

// Subscribe returns a channel that receives epoch 0 and is then closed.
func (p *precomputed) Subscribe(buffer int) (<-chan trainer.Epoch, func()) {
	ch := make(chan trainer.Epoch, max(buffer, 1))
	p.mu.Lock()
	p.subs = append(p.subs, ch)
	p.mu.Unlock()
	return ch, func() {}
}

// Run publishes epoch 0: the vectors as they are, with the kNN accuracy
// they reach (the same with and without "training").
func (p *precomputed) Run(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		for _, ch := range p.subs {
			close(ch)
		}
		p.subs = nil
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	m := trainer.Metrics{Loss: math.NaN()}
	if acc, ok := knnAccuracy(p.ds); ok {
		m.KNNAccuracy, m.RawKNNAccuracy, m.HasKNN = acc, acc, true
	}
	ep := trainer.Epoch{Epoch: 0, Metrics: m, Embeddings: p.ds.X, Dim: p.ds.Dim}
	for _, ch := range p.subs {
		select {
		case ch <- ep:
		default: // a subscriber without room misses it, as trainer.Run's would
		}
	}
	return nil
}

// Pause, Resume and Step have nothing to act on.
func (p *precomputed) Pause()  {}
func (p *precomputed) Resume() {}
func (p *precomputed) Step()   {}

// ExamplePairs returns none: no batch is ever trained on.
func (p *precomputed) ExamplePairs(int) []trainer.PairExample { return nil }

// Config returns the run's config, Epochs 0.
func (p *precomputed) Config() trainer.Config { return p.cfg }

// knnWork bounds the multiply-adds of the kNN accuracy of precomputed
// vectors (held-out × training × dimensions), a few tenths of a second of
// GEMM on one core; past it the accuracy is not reported.
const knnWork = 1 << 32

// knnAccuracy is trainer.Metrics.KNNAccuracy of d's vectors: the fraction
// of labelled held-out items whose label is the majority of their 5
// nearest labelled training items by cosine similarity, ties to the class
// of the nearest tied neighbour. ok is false when there is nothing to
// measure or the measurement would take too long.
func knnAccuracy(d *dataset.Dataset) (acc float64, ok bool) {
	var train, test []float32
	var trainLabels, testLabels []int32
	for i, l := range d.Labels {
		switch {
		case l == dataset.NoLabel || d.Sparse != nil:
		case d.Splits[i] == dataset.Test:
			test, testLabels = append(test, d.Row(i)...), append(testLabels, l)
		default:
			train, trainLabels = append(train, d.Row(i)...), append(trainLabels, l)
		}
	}
	if len(trainLabels) == 0 || len(testLabels) == 0 || len(trainLabels)*len(testLabels)*d.Dim > knnWork {
		return 0, false
	}
	return nearest.NewKNN(train, d.Dim, trainLabels, 5).Accuracy(test, testLabels), true
}
