package runner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/group"
	"github.com/contrastive-explorer/explorer/trainer"
)

// Manager owns every run of the server: it creates them, gives at most
// MaxRuns CPU slots at once (to training, then to projection of runs that
// no longer train) and queues the rest first come first served, rebuilds
// stored runs on demand, and stops everything when its context ends.
type Manager struct {
	ctx            context.Context // the server's lifetime
	storeCtx       context.Context // ctx without its cancellation: final states are stored during shutdown too
	store          run.Store
	datasets       Datasets
	newTrainer     TrainerFactory
	restoreTrainer RestoreFactory
	newProjector   ProjectorFactory
	newViewers     func(id string) Viewers
	estimate       func(trainer.Config, *run.Dataset) int64
	o              Options
	log            *slog.Logger
	group          *group.Group
	cache          *epochCache
	viewBytes      atomic.Int64 // memory reserved for the frames of views viewers chose
	cl             *cluster     // nil for the only replica (Options.Bus)

	mu      sync.Mutex
	runs    map[string]*Run
	loading map[string]chan struct{} // runs being rebuilt from the store
	active  int                      // CPU slots held
	queue   []*Run                   // waiting for a slot to train, oldest first
	waiting []chan struct{}          // projections waiting for a slot, oldest first
}

// New returns a Manager whose runs stop when ctx ends; call Wait after. It
// marks the runs the store holds as queued, running or paused (their
// server stopped or crashed) as interrupted.
func New(ctx context.Context, o Options) (*Manager, error) {
	if o.Store == nil {
		return nil, errors.New("runner: Options.Store is required")
	}
	o = o.withDefaults()
	m := &Manager{
		ctx: ctx, storeCtx: context.WithoutCancel(ctx), store: o.Store, datasets: o.Datasets,
		newTrainer: o.NewTrainer, restoreTrainer: o.RestoreTrainer, newProjector: o.NewProjector,
		newViewers: o.NewViewers,
		estimate:   func(c trainer.Config, d *run.Dataset) int64 { return o.Estimate(c, d.Data) },
		o:          o, log: o.Logger, group: group.New(), cache: newEpochCache(epochCacheBytes),
		runs: make(map[string]*Run), loading: make(map[string]chan struct{}),
	}
	if o.Bus != nil {
		cl, err := newCluster(o)
		if err != nil {
			return nil, err
		}
		m.cl = cl
	}
	stale, err := o.Store.Runs(ctx, run.RunFilter{States: []run.State{run.Queued, run.Running, run.Paused}})
	if err != nil {
		return nil, fmt.Errorf("runner: listing unfinished runs: %w", err)
	}
	for _, l := range stale {
		if !m.orphaned(l.Record) {
			m.log.Info("run left to its replica", "run", l.ID, "replica", l.Owner)
			continue
		}
		if m.cl != nil && l.State == run.Queued && l.Owner == "" {
			continue // waiting in the shared queue already
		}
		if m.cl != nil {
			if _, err := m.requeue(ctx, l); err != nil {
				return nil, fmt.Errorf("runner: requeueing run %s: %w", l.ID, err)
			}
			m.log.Info("run queued again after a restart", "run", l.ID, "epoch", l.Epoch, "replica", l.Owner)
			continue
		}
		if err := m.interrupt(ctx, l.Record); err != nil {
			return nil, err
		}
		m.log.Info("run interrupted by a restart", "run", l.ID, "epoch", l.Epoch, "replica", l.Owner)
	}
	if m.cl != nil {
		if err := m.startCluster(); err != nil {
			return nil, err
		}
	}
	context.AfterFunc(ctx, m.shutdown)
	m.group.Go(m.evictLoop)
	if o.Replica != "" {
		m.group.Go(m.heartbeatLoop)
	}
	return m, nil
}

// orphaned reports whether an unfinished run's record has no live replica
// training it: it is this replica's (from before its restart), nobody's,
// or its owner's heartbeat is older than HeartbeatTimeout.
func (m *Manager) orphaned(rec run.Record) bool {
	return m.o.Replica == "" || rec.Owner == "" || rec.Owner == m.o.Replica ||
		time.Since(rec.Heartbeat) > m.o.HeartbeatTimeout
}

// interrupt stores rec as interrupted: resumable from its checkpoint.
func (m *Manager) interrupt(ctx context.Context, rec run.Record) error {
	rec.State, rec.Updated = run.Interrupted, time.Now()
	if err := m.store.PutRun(ctx, rec); err != nil {
		return fmt.Errorf("runner: marking run %s interrupted: %w", rec.ID, err)
	}
	return nil
}

// heartbeatLoop says every HeartbeatEvery that this replica is alive, and
// interrupts the unfinished runs of replicas that stopped saying so.
func (m *Manager) heartbeatLoop() {
	beat := time.Now() // the last heartbeat stored
	m.every(m.o.HeartbeatEvery, func() {
		now := time.Now()
		ctx, cancel := context.WithTimeout(m.ctx, m.o.HeartbeatEvery)
		err := m.store.Heartbeat(ctx, m.o.Replica, now)
		cancel()
		if err != nil {
			if m.ctx.Err() == nil {
				m.log.Warn("heartbeat", "err", err)
			}
			// Among replicas, the others requeue this one's runs once its
			// heartbeat is older than the timeout: stop first.
			if m.cl != nil && now.Sub(beat) > m.o.HeartbeatTimeout-m.o.HeartbeatEvery {
				m.fenceAll()
			}
		} else {
			beat = now
		}
		m.sweepDead()
		if m.cl != nil {
			m.countQueued()
		}
	})
}

// every calls fn every d until the manager's context ends.
func (m *Manager) every(d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// sweepDead interrupts the unfinished runs, held by no run of this
// replica, whose owner's heartbeat is older than HeartbeatTimeout; among
// replicas sharing a queue it queues them again instead, for whichever
// replica claims them to resume them from their checkpoint.
func (m *Manager) sweepDead() {
	states := []run.State{run.Queued, run.Running, run.Paused}
	if m.cl != nil {
		states = states[1:] // a dead replica's queued runs are claimed as they are
	}
	list, err := m.store.Runs(m.ctx, run.RunFilter{States: states})
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("listing unfinished runs", "err", err)
		}
		return
	}
	if m.cl != nil {
		m.fenceTaken(list)
	}
	for _, l := range list {
		if m.cl != nil {
			m.sweepShared(l)
			continue
		}
		m.mu.Lock()
		_, mine := m.runs[l.ID]
		m.mu.Unlock()
		// Its own unfinished runs are this replica's to train, even those
		// not in memory; orphaned says the rest.
		if mine || l.Owner == m.o.Replica || !m.orphaned(l.Record) {
			continue
		}
		if err := m.interrupt(m.ctx, l.Record); err != nil {
			m.log.Warn("interrupting a dead replica's run", "run", l.ID, "err", err)
			continue
		}
		m.log.Info("run interrupted: its replica stopped", "run", l.ID, "replica", l.Owner, "heartbeat", l.Heartbeat)
	}
}

// sweepShared queues an unfinished run again when nobody trains it: its
// owner's heartbeat is stale, or it is this replica's and this replica
// does not train it (it was fenced while cut off from the store, whose
// heartbeats then went on).
func (m *Manager) sweepShared(l run.Listing) {
	m.mu.Lock()
	r, held := m.runs[l.ID]
	m.mu.Unlock()
	training := false
	if held {
		r.mu.Lock()
		training = r.training
		r.mu.Unlock()
	}
	if training || (l.Owner != m.o.Replica && !m.orphaned(l.Record)) {
		return
	}
	if ok, err := m.requeue(m.ctx, l); err != nil {
		m.log.Warn("requeueing a dead replica's run", "run", l.ID, "err", err)
	} else if ok {
		m.log.Info("run queued again: its replica stopped", "run", l.ID, "replica", l.Owner, "heartbeat", l.Heartbeat)
	}
}

// Wait blocks until every goroutine of every run has returned. Call it
// after the context given to New has ended.
func (m *Manager) Wait() { m.group.CloseAndWait() }

// Create validates cfg, makes a run of session on d (the dataset cfg
// names, loaded) and starts or queues it. It returns the run and its
// control token, which nothing else ever reveals. A precomputed dataset
// gets a source that publishes its vectors as epoch 0 instead of a
// trainer.
func (m *Manager) Create(ctx context.Context, session string, cfg run.Config, d run.Dataset) (*Run, string, error) {
	if m.ctx.Err() != nil {
		return nil, "", errShuttingDown
	}
	if err := validProjection(cfg.Projection, cfg.Dims, "projection"); err != nil {
		return nil, "", err
	}
	var tr Trainer
	if d.Precomputed {
		tr = newPrecomputed(cfg.Config, d.Data)
	} else {
		var err error
		if tr, err = m.newTrainer(cfg.Config, d.Data); err != nil {
			return nil, "", err
		}
		if err := m.checkMemory(tr.Config(), &d); err != nil {
			return nil, "", err
		}
	}
	cfg.Config = tr.Config()
	token := run.RandomHex(24)
	r := &Run{
		m: m, id: run.RandomHex(6), tokenHash: sha256.Sum256([]byte(token)), session: session,
		created: time.Now().UTC().Truncate(time.Millisecond), ds: d,
		tr: tr, cfg: cfg, state: run.Queued, trained: -1, liveEpoch: -1,
		ended: make(chan struct{}), lastUsed: time.Now(), owner: m.o.Replica,
	}
	if m.cl != nil {
		return m.createShared(ctx, r, token)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, "", errShuttingDown
	}
	if session != "" {
		n := 0
		for _, o := range m.runs {
			if o.session == session && !o.Summary().State.Ended() {
				n++
			}
		}
		if n >= m.o.MaxPerSession {
			return nil, "", run.Errorf(run.TooMany, "", "you have %d runs queued or training, the most one browser may have; stop one or wait for one to finish", n)
		}
	}
	queue := m.active >= m.o.MaxRuns
	if queue && len(m.queue) >= m.o.MaxQueued {
		return nil, "", run.Errorf(run.TooMany, "", "%d runs are waiting for the server already, the most it queues; try again in a few minutes", len(m.queue))
	}
	r.viewers = m.newViewers(r.id)
	r.mu.Lock()
	r.putLocked()
	r.mu.Unlock()
	m.runs[r.id] = r
	m.admitLocked(r)
	m.log.Info("run created", "run", r.id, "dataset", d.ID, "loss", r.cfg.Loss, "queued", queue)
	return r, token, nil
}

// createShared queues a new run in the shared queue, for the first
// replica with a free slot to claim; this one follows its events.
func (m *Manager) createShared(ctx context.Context, r *Run, token string) (*Run, string, error) {
	if err := m.admitShared(ctx, r.session); err != nil {
		return nil, "", err
	}
	r.owner, r.remote = "", true
	close(r.ended) // nothing trains it here until this replica claims it
	r.viewers = m.newViewers(r.id)
	f, unfollow := m.subscribe(r.id)
	r.unfollow = unfollow
	r.mu.Lock()
	err := m.store.PutRun(ctx, r.recordLocked())
	r.mu.Unlock()
	if err != nil {
		if unfollow != nil {
			unfollow()
		}
		return nil, "", err
	}
	m.log.Info("run queued", "run", r.id, "dataset", r.ds.ID, "loss", r.cfg.Loss)
	m.mu.Lock()
	m.runs[r.id] = r
	m.mu.Unlock()
	if f != nil {
		f.attach(r)
	}
	m.wakeClaimers()
	return r, token, nil
}

// checkMemory refuses a config whose estimated memory exceeds the bound,
// naming the setting whose halving saves the most: the batch, the hidden
// layers or the embedding dimension.
func (m *Manager) checkMemory(cfg trainer.Config, d *run.Dataset) error {
	need := m.estimate(cfg, d)
	if need <= m.o.MaxRunBytes {
		return nil
	}
	type option struct {
		field, advice string
		cfg           trainer.Config
	}
	batch, hidden, dim := cfg, cfg, cfg
	batch.Batch = max(cfg.Batch/2, 2)
	hidden.Hidden = make([]int, len(cfg.Hidden))
	for i, w := range cfg.Hidden {
		hidden.Hidden[i] = max(w/2, 1)
	}
	dim.Dim = max(cfg.Dim/2, 1)
	best, saved := option{}, int64(-1)
	for _, o := range []option{
		{"batch", "use a smaller batch", batch},
		{"hidden", "use fewer or narrower hidden layers", hidden},
		{"dim", "use a smaller embedding dimension", dim},
	} {
		if s := need - m.estimate(o.cfg, d); s > saved {
			best, saved = o, s
		}
	}
	return run.Errorf(run.Invalid, best.field, "this run would need about %s of memory and the server allows %s per run; %s",
		run.Megabytes(need), run.Megabytes(m.o.MaxRunBytes), best.advice)
}

// Get returns a run by id: the one in memory, or one rebuilt from the
// store.
func (m *Manager) Get(ctx context.Context, id string) (*Run, error) {
	for {
		m.mu.Lock()
		if r, ok := m.runs[id]; ok {
			m.mu.Unlock()
			return r, nil
		}
		if wait, ok := m.loading[id]; ok {
			m.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		m.loading[id] = done
		m.mu.Unlock()

		r, err := m.load(ctx, id)
		m.mu.Lock()
		delete(m.loading, id)
		close(done)
		if err == nil {
			m.runs[id] = r
		}
		m.mu.Unlock()
		return r, err
	}
}

// notFound is the error of a run that does not exist.
func notFound(id string) error {
	return run.Errorf(run.NotFound, "", "no run %q", clipID(id))
}

// clipID cuts an id from a request to a length worth quoting.
func clipID(id string) string {
	if len(id) > 40 {
		return id[:40] + "…"
	}
	return id
}

// load rebuilds a run from the store. It trains nothing: an interrupted
// run waits for its owner's Resume. Its frames are those stored; epochs
// whose frame is missing or of another projection are projected again.
func (m *Manager) load(ctx context.Context, id string) (_ *Run, err error) {
	// Among replicas, follow the run's events before reading it, so
	// nothing published meanwhile is missed.
	f, unfollow := m.subscribe(id)
	defer func() {
		if err != nil && unfollow != nil {
			unfollow()
		}
	}()
	rec, err := m.store.Run(ctx, id)
	if errors.Is(err, run.ErrNotFound) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, err
	}
	if m.datasets == nil {
		return nil, notFound(id)
	}
	d, err := m.datasets.Dataset(ctx, rec.Config.Dataset)
	if err != nil {
		return nil, fmt.Errorf("run %s: loading dataset %s: %w", id, rec.Config.Dataset, err)
	}
	frames, err := m.store.Frames(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	r := &Run{
		m: m, id: id, tokenHash: rec.TokenHash, session: rec.Session, created: rec.Created, ds: d,
		cfg: rec.Config, name: rec.Name, state: rec.State, errMsg: rec.Error,
		trained: -1, liveEpoch: -1, finished: true, ended: make(chan struct{}), lastUsed: time.Now(),
		owner: m.o.Replica, unfollow: unfollow,
	}
	close(r.ended)
	for _, f := range frames {
		r.trained = max(r.trained, f.Epoch)
	}
	// Epochs trained after the newest frame (the projection lagged when
	// the server stopped) exist only in the store's epochs.
	for {
		if _, err := m.store.Epoch(ctx, id, r.trained+1); err != nil {
			break
		}
		r.trained++
	}
	r.frameGen = slices.Repeat([]int{-1}, r.trained+1)
	for _, f := range frames {
		if f.Method == rec.Config.Projection && f.Dims == rec.Config.Dims {
			r.frameGen[f.Epoch] = 0
		}
	}
	r.liveEpoch = r.trained
	if rec.State == run.Interrupted {
		if _, _, err := m.store.Checkpoint(ctx, id); err == nil || d.Precomputed {
			r.resumable = true
		}
	}
	r.viewers = m.newViewers(id)
	// Complete as stored unless frames are missing (the projection lagged,
	// or was changing, when the server stopped): those are projected again.
	r.complete = !slices.Contains(r.frameGen, -1)
	r.mu.Lock()
	if m.cl != nil {
		r.owner = rec.Owner
		if !rec.State.Ended() {
			// Queued, or training elsewhere: a run that trained here would
			// be in memory, not loaded.
			r.goRemoteLocked()
		}
	}
	r.kickLocked()
	r.mu.Unlock()
	if f != nil {
		f.attach(r)
	}
	return r, nil
}

// Entry is one run in a list: what it is now and what the list shows of
// its progress.
type Entry struct {
	Summary
	Created time.Time
	Updated time.Time
	Metrics json.RawMessage // the newest epoch's, nil before the first
	Shared  bool            // listed because the session opened its link
}

// List returns the runs of session (created or opened by it), newest
// first; "" lists every run.
func (m *Manager) List(ctx context.Context, session string, limit int) ([]Entry, error) {
	ls, err := m.store.Runs(ctx, run.RunFilter{Session: session, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ls))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, l := range ls {
		e := Entry{
			Summary: Summary{
				ID: l.ID, Session: l.Session, Name: l.Name, State: l.State, Epoch: max(l.Epoch, 0),
				Config: l.Config, Error: l.Error,
			},
			Created: l.Created, Updated: l.Updated, Metrics: l.Metrics, Shared: l.Shared,
		}
		if r, ok := m.runs[l.ID]; ok {
			e.Summary = r.Summary()
		}
		out[i] = e
	}
	return out, nil
}

// Frames returns run r's stored frames of epochs from and later, in
// epoch order.
func (m *Manager) Frames(ctx context.Context, r *Run, from int) ([]run.FrameRecord, error) {
	return m.store.Frames(ctx, r.id, from)
}

// Checkpoint returns run r's newest checkpoint and its epoch, or an error
// wrapping run.ErrNotFound when it has none.
func (m *Manager) Checkpoint(ctx context.Context, r *Run) (int, []byte, error) {
	return m.store.Checkpoint(ctx, r.id)
}

// Share records that session opened run r's link, so it appears in the
// session's list.
func (m *Manager) Share(ctx context.Context, r *Run, session string) error {
	if session == "" || session == r.session {
		return nil
	}
	return m.store.ShareRun(ctx, r.id, session)
}

// Stop ends a run: a queued one at once, a training one within a training
// step. It waits (a few seconds at most) for training to end so the answer
// shows the final state.
func (m *Manager) Stop(r *Run) (Summary, error) {
	r.mu.Lock()
	forwarded := r.forwardedLocked()
	r.mu.Unlock()
	if forwarded {
		return m.stopShared(r)
	}
	m.mu.Lock()
	if i := slices.Index(m.queue, r); i >= 0 {
		m.queue = slices.Delete(m.queue, i, i+1)
		m.mu.Unlock()
		r.stopQueued()
		m.renumber()
		return r.Summary(), nil
	}
	m.mu.Unlock()

	r.mu.Lock()
	if r.state.Ended() {
		s := r.state
		r.mu.Unlock()
		return Summary{}, run.Errorf(run.Conflict, "", "cannot stop: the run has already ended (%s)", s)
	}
	cancel, ended := r.cancel, r.ended
	r.mu.Unlock()
	if cancel == nil {
		return Summary{}, run.Errorf(run.Conflict, "", "cannot stop: the run is starting")
	}
	cancel()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
	case <-m.ctx.Done():
	}
	return r.Summary(), nil
}

// Resume continues an interrupted run from its last checkpoint (a run
// without one starts again from epoch 0): it is queued like a new run.
func (m *Manager) Resume(ctx context.Context, r *Run) (Summary, error) {
	if m.ctx.Err() != nil {
		return Summary{}, errShuttingDown
	}
	r.mu.Lock()
	state := r.state
	r.mu.Unlock()
	if state != run.Interrupted {
		return Summary{}, run.Errorf(run.Conflict, "", "cannot resume: only an interrupted run can be resumed, and this one is %s", state)
	}
	if m.cl != nil {
		return m.resumeShared(ctx, r)
	}
	tr, epoch, err := m.trainerFor(ctx, r, nil)
	if err != nil {
		return Summary{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	r.mu.Lock()
	if r.state != run.Interrupted {
		// Raced with another resume.
		s := r.state
		r.mu.Unlock()
		return Summary{}, run.Errorf(run.Conflict, "", "cannot resume: the run is %s", s)
	}
	r.owner = m.o.Replica
	r.prepareLocked(tr, epoch)
	r.putLocked()
	r.mu.Unlock()
	m.admitLocked(r)
	m.log.Info("run resumed", "run", r.id, "from_epoch", epoch+1)
	return r.Summary(), nil
}

// trainerFor returns the trainer that resumes run r from its newest
// checkpoint, and the checkpoint's epoch; without a checkpoint, fresh (if
// not nil) or a new one, and -1.
func (m *Manager) trainerFor(ctx context.Context, r *Run, fresh Trainer) (Trainer, int, error) {
	r.mu.Lock()
	cfg := r.cfg
	r.mu.Unlock()
	var tr Trainer
	epoch, ckpt, err := m.store.Checkpoint(ctx, r.id)
	switch {
	case r.ds.Precomputed:
		tr, epoch, err = newPrecomputed(cfg.Config, r.ds.Data), -1, nil
	case errors.Is(err, run.ErrNotFound) && fresh != nil:
		tr, epoch, err = fresh, -1, nil
	case errors.Is(err, run.ErrNotFound):
		tr, err = m.newTrainer(cfg.Config, r.ds.Data)
		epoch = -1
	case err == nil:
		tr, err = m.restoreTrainer(cfg.Config, r.ds.Data, ckpt)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("resuming run %s: %w", r.id, err)
	}
	return tr, epoch, nil
}

// admitLocked starts r in a free slot, or queues it and tells the queue
// its places.
func (m *Manager) admitLocked(r *Run) {
	if m.active < m.o.MaxRuns {
		m.active++
		if !r.start(m.ctx) {
			m.active--
		}
		return
	}
	m.queue = append(m.queue, r)
	m.renumberLocked()
}

// Delete stops a run if it trains and removes it with its history.
func (m *Manager) Delete(ctx context.Context, r *Run) error {
	if m.cl != nil {
		r.mu.Lock()
		forwarded := r.forwardedLocked()
		r.mu.Unlock()
		if forwarded {
			if done, err := m.deleteShared(r); done || err != nil {
				return err
			}
		}
	}
	if s := r.Summary().State; !s.Ended() {
		if _, err := m.Stop(r); err != nil && run.ErrorCode(err) != run.Conflict {
			return err
		}
	}
	m.drop(r)
	if err := m.store.DeleteRun(ctx, r.id); err != nil && !errors.Is(err, run.ErrNotFound) {
		return err
	}
	if m.cl != nil {
		m.share(r.id, wireEvent{Deleted: true, Summary: Summary{ID: r.id}})
	}
	m.log.Info("run deleted", "run", r.id)
	return nil
}

// drop forgets deleted run r: out of memory, its viewers told done, its
// views, cached epochs and subscription gone. Among replicas, the others
// hear of it from the deletion's own notice (applyRemote).
func (m *Manager) drop(r *Run) {
	m.mu.Lock()
	delete(m.runs, r.id)
	m.mu.Unlock()
	r.mu.Lock()
	if !r.deleted {
		r.deleted, r.complete = true, true
		r.viewers.Publish(Event{Kind: EventDone, Summary: r.summaryLocked()})
		r.dropViewsLocked(time.Time{})
	}
	unfollow := r.unfollow
	r.unfollow = nil
	r.mu.Unlock()
	m.cache.drop(r.id)
	if unfollow != nil {
		unfollow()
	}
}

// resident returns the runs in memory now.
func (m *Manager) resident() []*Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	runs := make([]*Run, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
	}
	return runs
}

// acquire takes a CPU slot for projection, waiting for one; it reports
// false when ctx ends first.
func (m *Manager) acquire(ctx context.Context) bool {
	m.mu.Lock()
	if m.active < m.o.MaxRuns {
		m.active++
		m.mu.Unlock()
		return true
	}
	ready := make(chan struct{})
	m.waiting = append(m.waiting, ready)
	m.mu.Unlock()
	select {
	case <-ready:
		return true
	case <-ctx.Done():
		m.mu.Lock()
		if i := slices.Index(m.waiting, ready); i >= 0 {
			m.waiting = slices.Delete(m.waiting, i, i+1)
			m.mu.Unlock()
			return false
		}
		m.mu.Unlock()
		m.release() // handed over while ctx ended
		return false
	}
}

// release gives a slot back: to the oldest waiting projection (short
// work, for someone watching), else to the oldest queued run.
func (m *Manager) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active--
	for m.active < m.o.MaxRuns && len(m.waiting) > 0 {
		m.active++
		close(m.waiting[0])
		m.waiting = slices.Delete(m.waiting, 0, 1)
	}
	for m.active < m.o.MaxRuns && len(m.queue) > 0 {
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

func (m *Manager) renumber() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renumberLocked()
}

// renumberLocked tells every queued run its place in the queue.
func (m *Manager) renumberLocked() {
	for i, q := range m.queue {
		q.mu.Lock()
		q.setStateLocked(run.Queued, i+1)
		q.mu.Unlock()
	}
}

// shutdown ends the runs that never left the queue, as interrupted: they
// can be resumed after a restart. The context's cancellation stops the
// others.
func (m *Manager) shutdown() {
	m.mu.Lock()
	q := m.queue
	m.queue = nil
	m.mu.Unlock()
	for _, r := range q {
		r.stopQueued()
	}
	if m.cl != nil {
		for _, cancel := range m.cl.cancel {
			cancel()
		}
	}
}

// Timing of eviction: a run that has ended, has nothing left to project
// and has had no viewer for evictAfter is dropped from memory (the store
// keeps it; Get rebuilds it).
const (
	evictEvery = 15 * time.Second
	evictAfter = time.Minute
)

func (m *Manager) evictLoop() {
	m.every(evictEvery, func() { m.evict(time.Now().Add(-evictAfter)) })
}

// evict forgets the idle runs last used before cutoff, and the views
// viewers chose that no one has watched since cutoff.
func (m *Manager) evict(cutoff time.Time) int {
	var unfollow []func()
	defer func() {
		for _, fn := range unfollow {
			fn()
		}
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, r := range m.runs {
		r.mu.Lock()
		r.dropViewsLocked(cutoff)
		// A run that trains on another replica is idle here without
		// viewers: its events can be followed again when one comes.
		done := r.complete && r.finished || r.remote
		idle := done && !r.projecting && !r.adopting && !r.training && r.viewers.Len() == 0 && len(r.alts) == 0 && r.lastUsed.Before(cutoff)
		if idle && r.unfollow != nil {
			unfollow = append(unfollow, r.unfollow)
			r.unfollow = nil
		}
		r.mu.Unlock()
		if idle {
			delete(m.runs, id)
			m.cache.drop(id)
			n++
		}
	}
	return n
}

// Resident returns how many runs the manager holds in memory.
func (m *Manager) Resident() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.runs)
}

// errShuttingDown refuses work while the server stops.
var errShuttingDown = run.Errorf(run.Unavailable, "", "the server is shutting down")

// Load is what a Manager is doing, for operators' metrics.
type Load struct {
	Slots    int // CPU slots held: runs training, and projections of runs that no longer train
	MaxSlots int // Options.MaxRuns
	Queued   int // runs waiting for a slot to train (among replicas: in the shared queue)
	Training int // runs training here
	Resident int // runs in memory (training, queued, or watched lately)
}

// Load reports the manager's load now.
func (m *Manager) Load() Load {
	m.mu.Lock()
	defer m.mu.Unlock()
	queued := len(m.queue)
	if m.cl != nil {
		queued = int(m.cl.queued.Load())
	}
	training := 0
	for _, r := range m.runs {
		r.mu.Lock()
		if r.training {
			training++
		}
		r.mu.Unlock()
	}
	return Load{Slots: m.active, MaxSlots: m.o.MaxRuns, Queued: queued, Training: training, Resident: len(m.runs)}
}
