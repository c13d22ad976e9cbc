package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Manager owns every run of the server: it creates them, runs at most
// maxRuns at once and queues the rest first come first served, and stops
// everything when its context ends. Finished runs stay watchable until then.
type Manager struct {
	ctx          context.Context // the server's lifetime
	storeCtx     context.Context // ctx without its cancellation: the final states are stored during shutdown too
	store        Store
	newTrainer   TrainerFactory
	newProjector ProjectorFactory
	maxRuns      int
	log          *slog.Logger
	group        *group

	mu     sync.Mutex
	runs   map[string]*run
	active int    // runs holding a training slot
	queue  []*run // waiting for a slot, oldest first

	dsMu   sync.Mutex
	dsJSON map[string]json.RawMessage // hello's dataset part, by dataset name
}

func newManager(ctx context.Context, o Options, g *group) *Manager {
	return &Manager{
		ctx: ctx, storeCtx: context.WithoutCancel(ctx), store: o.Store,
		newTrainer: o.NewTrainer, newProjector: o.NewProjector,
		maxRuns: o.MaxRuns, log: o.Logger, group: g,
		runs:   make(map[string]*run),
		dsJSON: make(map[string]json.RawMessage),
	}
}

// create validates cfg, makes the run on dataset d (the one cfg names,
// from the registry) and starts or queues it. It returns the run and its
// control token. A precomputed dataset gets a source that publishes its
// vectors as epoch 0 instead of a trainer.
func (m *Manager) create(cfg RunConfig, d datasetEntry) (*run, string, error) {
	if m.ctx.Err() != nil {
		return nil, "", errShuttingDown
	}
	ds := d.ds
	switch cfg.Projection {
	case MethodPCA, MethodTSNE:
	default:
		return nil, "", badInput("projection", "unknown projection %q (want pca or tsne)", cfg.Projection)
	}
	if cfg.Dims != 2 && cfg.Dims != 3 {
		return nil, "", badInput("dims", "must be 2 or 3, got %d", cfg.Dims)
	}
	var tr Trainer
	var err error
	if d.Precomputed {
		tr = newPrecomputed(cfg.Config, ds)
	} else if tr, err = m.newTrainer(cfg.Config, ds); err != nil {
		return nil, "", err
	}
	id, token := randomHex(6), randomHex(24)
	r := newRun(m, id, token, d, tr, cfg)
	if err := m.store.PutRun(m.storeCtx, r.recordLocked()); err != nil {
		return nil, "", err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, "", errShuttingDown
	}
	m.runs[id] = r
	if m.active < m.maxRuns {
		m.active++
		if !r.start(m.ctx) {
			m.active--
		}
	} else {
		m.queue = append(m.queue, r)
		r.mu.Lock()
		r.queuePos = len(m.queue) // the run is new: no viewer to tell yet
		r.mu.Unlock()
	}
	m.log.Info("run created", "run", id, "dataset", d.ID, "loss", r.cfg.Loss, "state", r.summary().State)
	return r, token, nil
}

// get returns a run by id.
func (m *Manager) get(id string) (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return nil, notFound("no run %q", id)
	}
	return r, nil
}

// list returns every run's summary, newest first.
func (m *Manager) list() []RunSummary {
	m.mu.Lock()
	runs := make([]*run, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
	}
	m.mu.Unlock()
	slices.SortFunc(runs, func(a, b *run) int { return b.created.Compare(a.created) })
	out := make([]RunSummary, len(runs))
	for i, r := range runs {
		out[i] = r.summary()
	}
	return out
}

// stop ends a run: a queued one at once, a training one within a training
// step. It waits (a few seconds at most) for training to end so the answer
// shows the final state.
func (m *Manager) stop(r *run) (RunSummary, error) {
	m.mu.Lock()
	if i := slices.Index(m.queue, r); i >= 0 {
		m.queue = slices.Delete(m.queue, i, i+1)
		r.stopQueued()
		m.renumberLocked()
		m.mu.Unlock()
		return r.summary(), nil
	}
	m.mu.Unlock()

	r.mu.Lock()
	if r.state.Final() {
		s := r.state
		r.mu.Unlock()
		return RunSummary{}, conflict("cannot stop: the run has already ended (%s)", s)
	}
	cancel := r.cancel
	r.mu.Unlock()
	if cancel == nil {
		return RunSummary{}, conflict("cannot stop: the run is starting")
	}
	cancel()
	select {
	case <-r.ended:
	case <-time.After(5 * time.Second):
	case <-m.ctx.Done():
	}
	return r.summary(), nil
}

// release gives a finished run's training slot to the oldest queued run.
func (m *Manager) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active--
	for m.active < m.maxRuns && len(m.queue) > 0 {
		next := m.queue[0]
		m.queue = slices.Delete(m.queue, 0, 1)
		if m.ctx.Err() != nil {
			next.stopQueued()
			continue
		}
		m.active++
		if !next.start(m.ctx) {
			m.active--
		}
	}
	m.renumberLocked()
}

// renumberLocked tells every queued run its place in the queue.
func (m *Manager) renumberLocked() {
	for i, q := range m.queue {
		q.mu.Lock()
		q.setStateLocked(StateQueued, i+1)
		q.mu.Unlock()
	}
}

// shutdown ends the runs that never left the queue; the context's
// cancellation stops the others.
func (m *Manager) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.queue {
		q.stopQueued()
	}
	m.queue = nil
}

// datasetJSON returns the dataset part of hello for a run on d, encoded
// once per bundled dataset. Uploads are encoded once per run (see
// run.helloDataset): their pixels URL names the run.
func (m *Manager) datasetJSON(d datasetEntry) (json.RawMessage, error) {
	m.dsMu.Lock()
	defer m.dsMu.Unlock()
	if b, ok := m.dsJSON[d.ID]; ok {
		return b, nil
	}
	b, err := encodeDatasetHello(d, "")
	if err != nil {
		return nil, err
	}
	m.dsJSON[d.ID] = b
	return b, nil
}

// randomHex returns n random bytes from crypto/rand as 2n hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (it crashes the program
	// rather than return predictable bytes).
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
