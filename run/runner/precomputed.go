package runner

import (
	"context"
	"math"
	"sync"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
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
// vectors (held-out × training × dimensions), about a second of work; past
// it the accuracy is not reported.
const knnWork = 1 << 30

// knnAccuracy is trainer.Metrics.KNNAccuracy of d's vectors: the fraction
// of labelled held-out items whose label is the majority of their 5
// nearest labelled training items by cosine similarity, ties to the class
// of the nearest tied neighbour. ok is false when there is nothing to
// measure or the measurement would take too long.
func knnAccuracy(d *dataset.Dataset) (acc float64, ok bool) {
	const k = 5
	var train, test []int
	for i, l := range d.Labels {
		if l == dataset.NoLabel {
			continue
		}
		if d.Splits[i] == dataset.Test {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	if len(train) == 0 || len(test) == 0 || d.Sparse != nil || len(train)*len(test)*d.Dim > knnWork {
		return 0, false
	}
	norms := make([]float64, d.Len())
	for i := range norms {
		var s float64
		for _, v := range d.Row(i) {
			s += float64(v) * float64(v)
		}
		norms[i] = math.Sqrt(s)
	}
	type scored struct {
		item int
		sim  float64
	}
	better := func(a, b scored) bool { return a.sim > b.sim || a.sim == b.sim && a.item < b.item }
	best := make([]scored, 0, k+1) // the k nearest so far, nearest first
	votes := make(map[int32]int, k)
	var correct int
	for _, q := range test {
		best = best[:0]
		qr := d.Row(q)
		for _, t := range train {
			var dot float64
			for j, v := range d.Row(t) {
				dot += float64(v) * float64(qr[j])
			}
			s := scored{t, -1}
			if den := norms[q] * norms[t]; den > 0 {
				s.sim = dot / den
			}
			if len(best) == k && !better(s, best[k-1]) {
				continue
			}
			i := len(best)
			best = append(best, s)
			for ; i > 0 && better(s, best[i-1]); i-- {
				best[i] = best[i-1]
			}
			best[i] = s
			best = best[:min(len(best), k)]
		}
		clear(votes)
		top := 0
		for _, s := range best {
			votes[d.Labels[s.item]]++
			top = max(top, votes[d.Labels[s.item]])
		}
		for _, s := range best { // nearest first: a tie goes to the nearest
			if votes[d.Labels[s.item]] == top {
				if d.Labels[s.item] == d.Labels[q] {
					correct++
				}
				break
			}
		}
	}
	return float64(correct) / float64(len(test)), true
}
