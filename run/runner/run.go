package runner

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer"
)

// Run is one run as the server holds it in memory: created by this
// Manager, or rebuilt from the store. Its goroutines, all owned by the
// manager's group:
//
//   - training: calls Trainer.Run, from when the run leaves the queue until
//     training ends;
//   - collecting: drains the trainer's subscription into the store, so
//     training is never held up by projection;
//   - projecting: started whenever there is projection work and none is
//     running, it exits when there is nothing left to project.
//
// mu serialises every change of what viewers see (store writes and
// publishing to Viewers) with joining, so a late joiner's history and the
// live events after it neither overlap nor leave a gap.
type Run struct {
	m         *Manager
	id        string
	tokenHash [32]byte
	session   string
	created   time.Time
	ds        run.Dataset
	viewers   Viewers

	mu         sync.Mutex
	tr         Trainer // nil until the run trains in this process
	cfg        run.Config
	name       string
	state      run.State
	queuePos   int
	stepping   bool // a Step is in flight: pause when the next epoch arrives
	trained    int  // newest epoch recorded, -1 before epoch 0
	errMsg     string
	cancel     context.CancelFunc // stops training; nil unless training
	ended      chan struct{}      // closed when training has ended (or never will start)
	training   bool               // holds a CPU slot for training (its projection shares it)
	finished   bool               // not training, and every trained epoch is recorded
	resumable  bool               // interrupted, with a checkpoint
	gen        int                // projection generation, bumped when method or dims change
	frameGen   []int              // per epoch: the generation of its stored frame, -1 for none
	liveEpoch  int                // newest epoch projected live in generation gen, -1 for none
	projector  Projector
	projDims   int        // dimensions of projector
	projMethod string     // method projector was last set to
	projecting bool       // the projecting goroutine is running
	complete   bool       // done has been published: nothing more will come
	alts       []*altView // projections viewers chose for themselves
	deleted    bool
	lastUsed   time.Time

	// Among replicas (cluster.go): owner is the replica the record names
	// ("" while the run waits in the shared queue); remote is true while
	// another replica makes the run's own view, whose frames log keeps
	// for this replica's viewers; unfollow stops following the run's
	// events; stopServing stops answering its forwarded controls.
	owner       string
	remote      bool
	log         []*run.FrameRecord
	unfollow    func()
	stopServing func()
	// fenced: another replica has taken the run over while this one
	// still trains it, so nothing more of it is written or published
	// from here (Manager.fence).
	fenced   bool
	fencedAt time.Time
	// adopting: this replica is taking the run over from the shared
	// queue (Manager.adopt); until it trains, eviction leaves it and other
	// replicas' events are ignored.
	adopting bool
}

// ID returns the run's id.
func (r *Run) ID() string { return r.id }

// Dataset returns the run's dataset, loaded.
func (r *Run) Dataset() run.Dataset { return r.ds }

// Session returns the session that created the run, "" for none.
func (r *Run) Session() string { return r.session }

// Created returns when the run was created.
func (r *Run) Created() time.Time { return r.created }

// Authorized reports whether token is the run's control token, in
// constant time.
func (r *Run) Authorized(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], r.tokenHash[:]) == 1
}

// Summary returns what the run is now.
func (r *Run) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summaryLocked()
}

func (r *Run) summaryLocked() Summary {
	return Summary{
		ID: r.id, Session: r.session, Name: r.name,
		State: r.state, QueuePosition: r.queuePos, Epoch: max(r.trained, 0),
		Config:  r.cfg,
		Viewers: r.viewers.Len(), Error: r.errMsg, Resumable: r.resumable,
	}
}

// recordLocked returns the run's store record.
func (r *Run) recordLocked() run.Record {
	now := time.Now()
	return run.Record{
		ID: r.id, TokenHash: r.tokenHash, Session: r.session, Name: r.name, Config: r.cfg,
		State: r.state, Error: r.errMsg, Created: r.created, Updated: now,
		Owner: r.owner, Heartbeat: now,
	}
}

// putLocked stores the run's record.
func (r *Run) putLocked() {
	if r.deleted || r.fenced {
		return
	}
	if err := r.m.store.PutRun(r.m.storeCtx, r.recordLocked()); err != nil {
		r.m.log.Error("storing run", "run", r.id, "err", err)
	}
}

// publishLocked tells the viewers.
func (r *Run) publishLocked(kind EventKind) {
	r.emitLocked(Event{Kind: kind, Summary: r.summaryLocked()})
}

// setStateLocked moves the run to state s (and queue position pos),
// telling viewers and the store when anything changed.
func (r *Run) setStateLocked(s run.State, pos int) {
	if r.state == s && r.queuePos == pos {
		return
	}
	stateChanged := r.state != s
	r.state, r.queuePos = s, pos
	if stateChanged {
		r.putLocked()
	}
	r.publishLocked(EventState)
}

// start begins training in the manager's group; the caller holds the
// manager's lock and has counted the run's slot. It reports false, with
// the run ended as stopped, when the group refuses because the server is
// stopping; the caller then gives the slot back.
func (r *Run) start(parent context.Context) bool {
	ctx, cancel := context.WithCancel(parent)
	r.mu.Lock()
	tr := r.tr
	r.cancel = cancel
	r.training = true
	r.setStateLocked(run.Running, 0)
	buffer := r.cfg.Epochs + 2 // room for every epoch: none is ever dropped
	r.mu.Unlock()

	epochs, unsubscribe := tr.Subscribe(buffer)
	started := r.m.group.Go(func() {
		defer cancel()
		collected := make(chan struct{})
		if !r.m.group.Go(func() {
			defer close(collected)
			for ep := range epochs {
				r.recordEpoch(ep)
			}
		}) {
			close(collected)
		}
		err := tr.Run(ctx)
		unsubscribe()
		<-collected
		r.finish(ctx, err)
		r.m.release()
	})
	if !started {
		unsubscribe()
		cancel()
		r.mu.Lock()
		r.training = false
		r.mu.Unlock()
		r.stopQueued()
	}
	return started
}

// recordEpoch stores one epoch from training and wakes the projection.
func (r *Run) recordEpoch(ep trainer.Epoch) {
	r.mu.Lock()
	fenced := r.fenced
	r.mu.Unlock()
	if fenced {
		return
	}
	rec := run.EpochRecord{
		Epoch: ep.Epoch, Metrics: run.EncodeMetrics(ep.Metrics), Embeddings: ep.Embeddings, Dim: ep.Dim,
		Checkpoint: ep.Checkpoint,
	}
	for _, p := range ep.Pairs {
		rec.Pairs = append(rec.Pairs, run.PairRecordOf(p.A, p.B, p.Positive, p.Distance, p.TextA, p.TextB, p.XA, p.XB))
	}
	if err := r.m.store.PutEpoch(r.m.storeCtx, r.id, rec); err != nil {
		r.m.log.Error("storing epoch", "run", r.id, "epoch", ep.Epoch, "err", err)
		return
	}
	r.m.cache.put(r.id, rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trained = max(r.trained, ep.Epoch)
	for len(r.frameGen) <= ep.Epoch {
		r.frameGen = append(r.frameGen, -1)
	}
	r.frameGen[ep.Epoch] = -1
	if r.stepping {
		// The trainer pauses itself after the epoch a Step asked for.
		r.stepping = false
		r.setStateLocked(run.Paused, 0)
	}
	r.kickLocked()
}

// finish records the end of training; err is Trainer.Run's result.
func (r *Run) finish(ctx context.Context, err error) {
	r.mu.Lock()
	if r.fenced {
		r.handedOverLocked()
		ended := r.ended
		r.mu.Unlock()
		close(ended)
		return
	}
	switch {
	case err == nil:
		r.setStateLocked(run.Done, 0)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		switch {
		case r.m.ctx.Err() != nil && r.m.cl != nil:
			// The replica stops, not the owner: another replica goes on
			// from the checkpoint.
			r.owner = ""
			r.setStateLocked(run.Queued, 0)
			r.m.wakeClaimers()
		case r.m.ctx.Err() != nil:
			// The server stops, not the owner: the run can go on after
			// a restart.
			r.setStateLocked(run.Interrupted, 0)
		default:
			r.setStateLocked(run.Stopped, 0)
		}
	default:
		r.errMsg = "training failed unexpectedly"
		if errors.Is(err, trainer.ErrDiverged) {
			r.errMsg = err.Error()
		} else {
			r.m.log.Error("training failed", "run", r.id, "err", err)
		}
		r.putLocked()
		r.setStateLocked(run.Failed, 0)
		r.publishLocked(EventError)
	}
	r.stepping = false
	r.training = false
	r.finished = true
	r.cancel = nil
	if r.stopServing != nil {
		r.stopServing()
		r.stopServing = nil
	}
	r.m.log.Info("run ended", "run", r.id, "state", r.state, "epochs", max(r.trained, 0))
	r.kickLocked()
	ended := r.ended
	r.mu.Unlock()
	close(ended)
}

// stopQueued ends a run that never started training: stopped from the
// queue, or refused a goroutine because the server is stopping.
func (r *Run) stopQueued() {
	r.mu.Lock()
	s := run.Stopped
	switch {
	case r.m.ctx.Err() != nil && r.m.cl != nil:
		// Claimed by a replica that stops: back to the shared queue.
		s, r.owner = run.Queued, ""
	case r.m.ctx.Err() != nil:
		s = run.Interrupted
	}
	r.setStateLocked(s, 0)
	r.finished = true
	r.kickLocked()
	ended := r.ended
	r.mu.Unlock()
	close(ended)
}

// Control applies "pause", "resume" (training that was paused) or "step".
func (r *Run) Control(action string) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forwardedLocked() && r.state != run.Queued {
		r.mu.Unlock()
		defer r.mu.Lock()
		return r.forward(control{Op: "control", Action: action})
	}
	switch r.state {
	case run.Running, run.Paused:
	case run.Queued:
		return Summary{}, run.Errorf(run.Conflict, "", "cannot %s: the run is waiting in the queue (position %d)", action, r.queuePos)
	default:
		return Summary{}, run.Errorf(run.Conflict, "", "cannot %s: the run has ended (%s)", action, r.state)
	}
	switch action {
	case "pause":
		r.tr.Pause()
		r.stepping = false
		r.setStateLocked(run.Paused, 0)
	case "resume":
		r.tr.Resume()
		r.stepping = false
		r.setStateLocked(run.Running, 0)
	case "step":
		// Trains until the next epoch is published, then pauses (see
		// recordEpoch).
		r.tr.Step()
		r.stepping = true
		r.setStateLocked(run.Running, 0)
	default:
		return Summary{}, run.Errorf(run.Invalid, "action", "unknown action %q (want pause, resume or step)", action)
	}
	return r.summaryLocked(), nil
}

// Rename sets the owner's name for the run.
func (r *Run) Rename(name string) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forwardedLocked() {
		if ok, err := r.editQueuedLocked(name, r.cfg); ok || err != nil {
			return r.summaryLocked(), err
		}
		r.mu.Unlock()
		defer r.mu.Lock()
		return r.forward(control{Op: "rename", Name: name})
	}
	r.name = name
	r.putLocked()
	r.publishLocked(EventState)
	return r.summaryLocked(), nil
}

// SetProjection switches the run to another projection. Every epoch is
// projected again, the newest first.
func (r *Run) SetProjection(method string, dims int) (Summary, error) {
	if err := validProjection(method, dims, "method"); err != nil {
		return Summary{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.forwardedLocked() {
		cfg := r.cfg
		cfg.Projection, cfg.Dims = method, dims
		if ok, err := r.editQueuedLocked(r.name, cfg); ok || err != nil {
			return r.summaryLocked(), err
		}
		r.mu.Unlock()
		defer r.mu.Lock()
		return r.forward(control{Op: "projection", Method: method, Dims: dims})
	}
	if method == r.cfg.Projection && dims == r.cfg.Dims {
		return r.summaryLocked(), nil
	}
	r.cfg.Projection, r.cfg.Dims = method, dims
	r.gen++
	r.liveEpoch = -1
	r.putLocked()
	r.publishLocked(EventProjection)
	if r.trained >= 0 {
		r.complete = false
	}
	r.seedFromViewLocked()
	r.kickLocked()
	return r.summaryLocked(), nil
}

// validProjection checks a projection's method and dimensions.
func validProjection(method string, dims int, methodField string) error {
	switch method {
	case run.MethodPCA, run.MethodTSNE, run.MethodUMAP:
	default:
		return run.Errorf(run.Invalid, methodField, "unknown projection %q (want pca, tsne or umap)", method)
	}
	if dims != 2 && dims != 3 {
		return run.Errorf(run.Invalid, "dims", "must be 2 or 3, got %d", dims)
	}
	return nil
}

// ExamplePairs returns up to n pairs of the batch trained on last, none
// when the run does not train in this process.
func (r *Run) ExamplePairs(n int) []trainer.PairExample {
	r.mu.Lock()
	tr := r.tr
	r.mu.Unlock()
	if tr == nil {
		return nil
	}
	return tr.ExamplePairs(n)
}

// TextEmbedder returns what embeds a text query with the run's latest
// weights, or nil when the run's trainer is not in memory or cannot.
func (r *Run) TextEmbedder() TextEmbedder {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, _ := r.tr.(TextEmbedder)
	return e
}

// Epoch returns epoch e of the run (run.ErrNotFound when not trained), from
// the manager's cache or the store.
func (r *Run) Epoch(ctx context.Context, e int) (run.EpochRecord, error) {
	if rec, ok := r.m.cache.get(r.id, e); ok {
		return rec, nil
	}
	rec, err := r.m.store.Epoch(ctx, r.id, e)
	if err != nil {
		if errors.Is(err, run.ErrNotFound) {
			return run.EpochRecord{}, run.Errorf(run.NotFound, "", "epoch %d of run %s has not been trained yet", e, r.id)
		}
		return run.EpochRecord{}, err
	}
	r.m.cache.put(r.id, rec)
	return rec, nil
}

// Join gives a new viewer of view v (the zero View for the run's own
// projection) the run's history from epoch from on, under the run's lock:
// join is called with it, and every event published after join returns is
// one the history does not hold. join registers the viewer with the run's
// Viewers unless History.Done; it must not block. The events of a view
// other than the run's own carry it in Event.View. Join returns what to
// call when the viewer leaves. A view the server has no memory left for
// is refused (run.Unavailable).
func (r *Run) Join(ctx context.Context, from int, v View, join func(History) error) (leave func(), err error) {
	if err := v.Check(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deleted {
		return nil, run.Errorf(run.NotFound, "", "no run %q", r.id)
	}
	r.lastUsed = time.Now()
	if v.Own() {
		var frames []run.FrameRecord
		if r.remote {
			// What this replica's viewers were told, so no frame is
			// missed or twice between the history and the live events.
			for _, f := range r.log[min(max(from, 0), len(r.log)):] {
				if f != nil {
					frames = append(frames, *f)
				}
			}
		} else if frames, err = r.m.store.Frames(ctx, r.id, max(from, 0)); err != nil {
			return nil, fmt.Errorf("reading frames of run %s: %w", r.id, err)
		}
		return func() {}, join(History{Summary: r.summaryLocked(), Dataset: r.ds, Frames: frames, Done: r.complete})
	}
	a, frames, err := r.joinViewLocked(ctx, v, from)
	if err != nil {
		return nil, err
	}
	leave = r.leaveView(a)
	if err := join(History{Summary: r.summaryLocked(), Dataset: r.ds, Frames: frames, Done: a.complete}); err != nil {
		a.viewers--
		return nil, err
	}
	r.kickLocked()
	return leave, nil
}

// kickLocked starts the projecting goroutine unless it is running.
func (r *Run) kickLocked() {
	if r.projecting || r.deleted || (r.complete && !r.viewsPendingLocked()) {
		return
	}
	r.projecting = r.m.group.Go(r.project)
}

// job is one epoch to project.
type job struct {
	epoch int
	gen   int
	live  bool     // the newest epoch, for the live view; else backfill
	alt   *altView // a view viewers chose, nil for the run's own projection
}

// nextJobLocked picks the next epoch to project: the newest trained epoch
// if the live view has not shown it, then the same for the views viewers
// chose (views.go), else the oldest epoch whose frame is missing or from an
// older projection, then the views' missing ones.
func (r *Run) nextJobLocked() (job, bool) {
	if r.m.ctx.Err() != nil || r.trained < 0 || r.deleted {
		return job{}, false
	}
	own := !r.remote // else another replica makes the run's own view
	if own && r.trained > r.liveEpoch && r.frameGen[r.trained] != r.gen {
		return job{epoch: r.trained, gen: r.gen, live: true}, true
	}
	if j, ok := r.viewJobLocked(true); ok {
		return j, true
	}
	for e := 0; own && e <= r.trained; e++ {
		if r.frameGen[e] != r.gen {
			return job{epoch: e, gen: r.gen}, true
		}
	}
	return r.viewJobLocked(false)
}

// project is the run's projection stage: it projects epochs until there is
// nothing left to do, then, if training has ended, publishes done. A run
// that is not training takes a CPU slot of the manager for the work.
func (r *Run) project() {
	ctx := r.m.ctx
	slot := false
	defer func() {
		if slot {
			r.m.release()
		}
	}()
	for {
		r.mu.Lock()
		j, ok := r.nextJobLocked()
		if !ok {
			if r.finished && ctx.Err() == nil && !r.deleted {
				if !r.complete {
					r.complete = true
					r.publishLocked(EventDone)
				}
				r.completeViewsLocked()
			}
			if r.finished && r.projector != nil {
				// Nothing more to project unless the projection is
				// changed: a watched finished run holds no t-SNE state.
				r.projector.Trim()
			}
			r.projecting = false
			r.mu.Unlock()
			return
		}
		needSlot := !r.training && !slot
		r.mu.Unlock()
		if needSlot {
			if !r.m.acquire(ctx) {
				r.mu.Lock()
				r.projecting = false
				r.mu.Unlock()
				return
			}
			slot = true
			continue // the work may have changed while waiting
		}

		r.mu.Lock()
		var proj Projector
		var err error
		if j.alt != nil {
			proj, err = r.viewProjectorLocked(j.alt)
		} else {
			proj, err = r.projectorLocked()
		}
		method, dims := r.cfg.Projection, r.cfg.Dims
		r.mu.Unlock()
		var f *run.FrameRecord
		if err == nil && j.alt != nil && j.alt.view.From != "" {
			r.startView(ctx, j.alt, proj, j.epoch)
		}
		if err == nil {
			f, err = r.projectEpoch(ctx, proj, j)
		}

		r.mu.Lock()
		if err != nil && ctx.Err() == nil {
			// Data the projection cannot handle: skip the epoch rather
			// than retry it forever. Viewers keep its previous frame.
			r.m.log.Error("projecting epoch", "run", r.id, "epoch", j.epoch, "err", err)
		}
		switch {
		case ctx.Err() != nil || r.deleted || r.fenced:
		case j.alt != nil:
			r.viewFrameLocked(j, f)
		case r.remote:
			// Another replica makes the run's own view now.
		case j.gen == r.gen && j.epoch < len(r.frameGen):
			r.frameGen[j.epoch] = j.gen
			if j.live {
				r.liveEpoch = j.epoch
			}
			if f != nil {
				f.Method, f.Dims = method, dims
				// Stamped here, under the lock that orders publishing, so
				// Sent is the moment viewers' queues receive it.
				f.Sent = time.Now()
				if err := r.m.store.PutFrame(r.m.storeCtx, r.id, *f); err != nil {
					r.m.log.Error("storing frame", "run", r.id, "epoch", j.epoch, "err", err)
				}
				r.emitLocked(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: f, Live: j.live})
			}
			r.shareLocked(j.epoch, f, j.live)
		}
		r.mu.Unlock()
	}
}

// projectorLocked returns the projector for the current method and
// dimensions. A change of method keeps the projector, so the new method's
// first frame continues from the old picture; a change of dimensions needs
// a new one.
func (r *Run) projectorLocked() (Projector, error) {
	method, dims := r.cfg.Projection, r.cfg.Dims
	if r.projector == nil || r.projDims != dims {
		p, err := r.m.newProjector(method, dims, r.cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("making the %s projector: %w", method, err)
		}
		r.projector, r.projDims, r.projMethod = p, dims, method
	}
	if r.projMethod != method {
		if err := r.projector.SetMethod(method); err != nil {
			return nil, err
		}
		r.projMethod = method
	}
	return r.projector, nil
}

// projectEpoch projects one epoch into a frame (without Sent).
func (r *Run) projectEpoch(ctx context.Context, p Projector, j job) (*run.FrameRecord, error) {
	rec, err := r.Epoch(ctx, j.epoch)
	if err != nil {
		return nil, err
	}
	n := len(rec.Embeddings) / rec.Dim
	f, err := p.Project(ctx, rec.Embeddings, n, rec.Dim)
	if err != nil {
		return nil, err
	}
	if len(f.Coords) != n*f.Dims {
		return nil, fmt.Errorf("projector returned %d values for %d points in %d dimensions", len(f.Coords), n, f.Dims)
	}
	return &run.FrameRecord{
		Epoch: j.epoch, Method: f.Method, Dims: f.Dims, Coords: f.Coords, Quality: f.Quality,
		Metrics: rec.Metrics, Backfill: !j.live,
	}, nil
}

// truncateLocked forgets what the run has after epoch: it is resumed
// from that epoch's checkpoint.
func (r *Run) truncateLocked(epoch int) {
	for len(r.frameGen) < epoch+1 {
		r.frameGen = append(r.frameGen, -1)
	}
	r.frameGen = r.frameGen[:max(epoch+1, 0)]
	if len(r.log) > epoch+1 {
		r.log = r.log[:max(epoch+1, 0)]
	}
	r.liveEpoch = min(r.liveEpoch, epoch)
	for _, a := range r.alts {
		a.truncate(epoch + 1)
	}
}

// prepareLocked makes the run ready to train with tr from the epoch after
// epoch (-1: from the start), queued for a slot.
func (r *Run) prepareLocked(tr Trainer, epoch int) {
	r.tr = tr
	r.truncateLocked(epoch)
	r.trained = epoch
	r.finished, r.complete, r.resumable = false, false, false
	r.ended = make(chan struct{})
	r.state = run.Queued
}

// Viewers returns the run's audience, as Options.NewViewers made it.
func (r *Run) Viewers() Viewers { return r.viewers }
