// Package runnertest has fakes of a run's trainer and projector for tests
// of run/runner and of what adapts it (web): they cost nothing and make the
// streaming, not the learning, what a test watches.
package runnertest

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// FakeTrainer publishes random embeddings as fast as it is allowed to: with
// a gate, each epoch after the first waits for a value from it.
type FakeTrainer struct {
	cfg   trainer.Config
	n     int
	gate  chan struct{}
	first int // the first epoch it publishes

	mu   sync.Mutex
	subs []chan trainer.Epoch
}

// Trainers returns a TrainerFactory of fake trainers sharing gate (nil
// for none), validating configs like the real one.
func Trainers(gate chan struct{}) runner.TrainerFactory {
	return func(cfg trainer.Config, d *dataset.Dataset) (runner.Trainer, error) {
		if err := cfg.Validate(d); err != nil {
			return nil, err
		}
		return &FakeTrainer{cfg: cfg, n: d.Len(), gate: gate}, nil
	}
}

// Restorers returns the RestoreFactory of Trainers(gate): the checkpoint
// is the epoch number as one byte, which FakeTrainer publishes as
// Epoch.Checkpoint.
func Restorers(gate chan struct{}) runner.RestoreFactory {
	return func(cfg trainer.Config, d *dataset.Dataset, checkpoint []byte) (runner.Trainer, error) {
		return &FakeTrainer{cfg: cfg, n: d.Len(), gate: gate, first: int(checkpoint[0]) + 1}, nil
	}
}

// Subscribe returns a channel of every epoch.
func (f *FakeTrainer) Subscribe(buffer int) (<-chan trainer.Epoch, func()) {
	ch := make(chan trainer.Epoch, buffer)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}

// Embeddings returns the fake embeddings of epoch e of a run of cfg on n
// items: random, the same for the same seed and epoch.
func Embeddings(cfg trainer.Config, n, e int) []float32 {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(e)))
	emb := make([]float32, n*cfg.Dim)
	for i := range emb {
		emb[i] = float32(rng.NormFloat64())
	}
	return emb
}

// Run publishes the epochs.
func (f *FakeTrainer) Run(ctx context.Context) error {
	defer func() {
		f.mu.Lock()
		for _, ch := range f.subs {
			close(ch)
		}
		f.mu.Unlock()
	}()
	for e := f.first; e <= f.cfg.Epochs; e++ {
		if e > 0 && f.gate != nil {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ep := trainer.Epoch{
			Epoch: e, Metrics: trainer.Metrics{Loss: 1 / float64(e+1)},
			Embeddings: Embeddings(f.cfg, f.n, e), Dim: f.cfg.Dim, Checkpoint: []byte{byte(e)},
		}
		f.mu.Lock()
		for _, ch := range f.subs {
			ch <- ep // buffered for every epoch by the run
		}
		f.mu.Unlock()
	}
	return nil
}

// Pause, Resume and Step do nothing.
func (f *FakeTrainer) Pause()  {}
func (f *FakeTrainer) Resume() {}
func (f *FakeTrainer) Step()   {}

// ExamplePairs returns none.
func (f *FakeTrainer) ExamplePairs(n int) []trainer.PairExample { return nil }

// Config returns the config given.
func (f *FakeTrainer) Config() trainer.Config { return f.cfg }

// ColumnProjector projects by taking the first dims embedding columns:
// free, for tests about streaming rather than pictures.
type ColumnProjector struct {
	method string
	dims   int
	trims  atomic.Int32
	start  []float32 // StartFrom's layout, the next frame
}

// ColumnProjectors is a ProjectorFactory of ColumnProjectors.
func ColumnProjectors(method string, dims int, seed uint64) (runner.Projector, error) {
	return &ColumnProjector{method: method, dims: dims}, nil
}

// Project takes the first columns.
func (p *ColumnProjector) Project(ctx context.Context, x []float32, n, d int) (runner.Projected, error) {
	coords := make([]float32, n*p.dims)
	if p.start != nil && len(p.start) == len(coords) {
		copy(coords, p.start)
		p.start = nil
		return runner.Projected{Coords: coords, Dims: p.dims, Method: p.method}, nil
	}
	for i := range n {
		copy(coords[i*p.dims:(i+1)*p.dims], x[i*d:i*d+min(d, p.dims)])
	}
	return runner.Projected{Coords: coords, Dims: p.dims, Method: p.method}, nil
}

// StartFrom makes the next frame the layout itself, so tests see where a
// view started.
func (p *ColumnProjector) StartFrom(layout []float32, n int) error {
	p.start = slices.Clone(layout)
	return nil
}

// SetMethod only records the method.
func (p *ColumnProjector) SetMethod(method string) error { p.method = method; return nil }

// Trim counts the calls, for Trimmed.
func (p *ColumnProjector) Trim() { p.trims.Add(1) }

// Trimmed says how many times Trim was called.
func (p *ColumnProjector) Trimmed() int { return int(p.trims.Load()) }

// slowProjector is a ColumnProjector that takes delay per frame.
type slowProjector struct {
	ColumnProjector
	delay time.Duration
}

// SlowProjectors is a ProjectorFactory of column projectors that take
// delay per frame, so training outruns projection.
func SlowProjectors(delay time.Duration) runner.ProjectorFactory {
	return func(method string, dims int, seed uint64) (runner.Projector, error) {
		return &slowProjector{ColumnProjector{method: method, dims: dims}, delay}, nil
	}
}

func (p *slowProjector) Project(ctx context.Context, x []float32, n, d int) (runner.Projected, error) {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return runner.Projected{}, ctx.Err()
	}
	return p.ColumnProjector.Project(ctx, x, n, d)
}
