package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// run is one training run as the server sees it. Its goroutines, all owned
// by the manager's group:
//
//   - training: calls Trainer.Run, from when the run leaves the queue until
//     training ends;
//   - collecting: drains the trainer's subscription into the store, so
//     training is never held up by projection;
//   - projecting: started whenever there is projection work and none is
//     running, it exits when there is nothing left to project.
//
// mu serialises every change of what viewers see (store writes and hub
// publishing) with subscribing, so a late joiner's history and the live
// messages after it neither overlap nor leave a gap.
type run struct {
	m         *Manager
	id        string
	tokenHash [32]byte
	ds        *dataset.Dataset
	dsEntry   datasetEntry // where ds comes from: bundled or uploaded, precomputed, synthetic
	tr        Trainer
	cfg       RunConfig // resolved: the trainer's defaults filled in
	created   time.Time
	hub       *hub
	ended     chan struct{} // closed when training has ended (or never will start)

	mu         sync.Mutex
	state      State
	queuePos   int
	stepping   bool // a Step is in flight: pause when the next epoch arrives
	trained    int  // newest epoch recorded, -1 before epoch 0
	errMsg     string
	cancel     context.CancelFunc // stops training; nil until started
	finished   bool               // training ended and every epoch is recorded
	method     string
	dims       int
	gen        int   // projection generation, bumped when method or dims change
	frameGen   []int // per epoch: the generation of its stored frame, -1 for none
	liveEpoch  int   // newest epoch projected live in generation gen, -1 for none
	projector  Projector
	projDims   int             // dimensions of projector
	projMethod string          // method projector was last set to
	projecting bool            // the projecting goroutine is running
	complete   bool            // done has been published: nothing more will come
	hello      json.RawMessage // hello's dataset part of a run on an upload, once encoded
}

func newRun(m *Manager, id string, token string, d datasetEntry, tr Trainer, cfg RunConfig) *run {
	cfg.Config = tr.Config()
	return &run{
		m: m, id: id, tokenHash: sha256.Sum256([]byte(token)),
		ds: d.ds, dsEntry: d, tr: tr, cfg: cfg, created: time.Now(),
		hub:       newHub(),
		ended:     make(chan struct{}),
		state:     StateQueued,
		trained:   -1,
		method:    cfg.Projection,
		dims:      cfg.Dims,
		liveEpoch: -1,
	}
}

// authorized reports whether token is the run's control token, in constant
// time.
func (r *run) authorized(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], r.tokenHash[:]) == 1
}

// recordLocked returns the run's store record.
func (r *run) recordLocked() RunRecord {
	cfg := r.cfg
	cfg.Projection, cfg.Dims = r.method, r.dims
	return RunRecord{ID: r.id, TokenHash: r.tokenHash, Config: cfg, State: r.state, Error: r.errMsg, Created: r.created}
}

// summary returns what the API says about the run.
func (r *run) summary() RunSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summaryLocked()
}

func (r *run) summaryLocked() RunSummary {
	return RunSummary{
		ID:            r.id,
		URL:           "/runs/" + r.id,
		State:         r.state,
		QueuePosition: r.queuePos,
		Epoch:         max(r.trained, 0),
		Epochs:        r.cfg.Epochs,
		Config:        r.cfg.Config,
		Projection:    ProjectionJSON{Method: r.method, Dims: r.dims},
		Viewers:       r.hub.len(),
		Error:         r.errMsg,
	}
}

// publishLocked sends m to every current subscriber.
func (r *run) publishLocked(m *message) { r.hub.publish(m) }

// setStateLocked moves the run to state s (and queue position pos),
// telling viewers and the store when anything changed.
func (r *run) setStateLocked(s State, pos int) {
	if r.state == s && r.queuePos == pos {
		return
	}
	r.state, r.queuePos = s, pos
	if err := r.m.store.PutRun(r.m.storeCtx, r.recordLocked()); err != nil {
		r.m.log.Error("storing run", "run", r.id, "err", err)
	}
	r.publishLocked(&message{text: mustJSON(stateJSON{Type: "state", State: s, QueuePosition: pos, Epoch: max(r.trained, 0)})})
}

// start begins training in the manager's group; the caller holds the
// manager's lock and has counted the run as active. It reports false, with
// the run ended as stopped, when the group refuses because the server is
// stopping; the caller then gives the slot back.
func (r *run) start(parent context.Context) bool {
	ctx, cancel := context.WithCancel(parent)
	r.mu.Lock()
	r.cancel = cancel
	r.setStateLocked(StateRunning, 0)
	r.mu.Unlock()

	epochs, unsubscribe := r.tr.Subscribe(r.cfg.Epochs + 2) // room for every epoch: none is ever dropped
	started := r.m.group.goFunc(func() {
		defer cancel()
		collected := make(chan struct{})
		if !r.m.group.goFunc(func() {
			defer close(collected)
			for ep := range epochs {
				r.recordEpoch(ep)
			}
		}) {
			close(collected)
		}
		err := r.tr.Run(ctx)
		unsubscribe()
		<-collected
		r.finish(ctx, err)
		r.m.release()
	})
	if !started {
		unsubscribe()
		cancel()
		r.stopQueued()
	}
	return started
}

// recordEpoch stores one epoch from training and wakes the projection.
func (r *run) recordEpoch(ep trainer.Epoch) {
	rec := EpochRecord{Epoch: ep.Epoch, Metrics: encodeMetrics(ep.Metrics), Embeddings: ep.Embeddings, Dim: ep.Dim}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.m.store.PutEpoch(r.m.storeCtx, r.id, rec); err != nil {
		r.m.log.Error("storing epoch", "run", r.id, "epoch", ep.Epoch, "err", err)
		return
	}
	r.trained = max(r.trained, ep.Epoch)
	for len(r.frameGen) <= ep.Epoch {
		r.frameGen = append(r.frameGen, -1)
	}
	if r.stepping {
		// The trainer pauses itself after the epoch a Step asked for.
		r.stepping = false
		r.setStateLocked(StatePaused, 0)
	}
	r.kickLocked()
}

// finish records the end of training; err is Trainer.Run's result.
func (r *run) finish(ctx context.Context, err error) {
	r.mu.Lock()
	switch {
	case err == nil:
		r.setStateLocked(StateDone, 0)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		r.setStateLocked(StateStopped, 0)
	default:
		r.errMsg = "training failed unexpectedly"
		if errors.Is(err, trainer.ErrDiverged) {
			r.errMsg = err.Error()
		} else {
			r.m.log.Error("training failed", "run", r.id, "err", err)
		}
		r.setStateLocked(StateFailed, 0)
		r.publishLocked(&message{text: mustJSON(errorJSON{Type: "error", Error: r.errMsg})})
	}
	r.stepping = false
	r.finished = true
	r.m.log.Info("run ended", "run", r.id, "state", r.state, "epochs", max(r.trained, 0))
	r.kickLocked()
	r.mu.Unlock()
	close(r.ended)
}

// stopQueued ends a run that never started training: stopped from the
// queue, or refused a goroutine because the server is stopping.
func (r *run) stopQueued() {
	r.mu.Lock()
	r.setStateLocked(StateStopped, 0)
	r.finished = true
	r.kickLocked()
	r.mu.Unlock()
	close(r.ended)
}

// control applies pause, resume or step.
func (r *run) control(action string) (RunSummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case StateRunning, StatePaused:
	case StateQueued:
		return RunSummary{}, conflict("cannot %s: the run is waiting in the queue (position %d)", action, r.queuePos)
	default:
		return RunSummary{}, conflict("cannot %s: the run has ended (%s)", action, r.state)
	}
	switch action {
	case "pause":
		r.tr.Pause()
		r.stepping = false
		r.setStateLocked(StatePaused, 0)
	case "resume":
		r.tr.Resume()
		r.stepping = false
		r.setStateLocked(StateRunning, 0)
	case "step":
		// Trains until the next epoch is published, then pauses (see
		// recordEpoch).
		r.tr.Step()
		r.stepping = true
		r.setStateLocked(StateRunning, 0)
	default:
		panic("web: unknown control action " + action)
	}
	return r.summaryLocked(), nil
}

// setProjection switches the run to another projection. Every epoch is
// projected again, the newest first.
func (r *run) setProjection(method string, dims int) RunSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	if method == r.method && dims == r.dims {
		return r.summaryLocked()
	}
	r.method, r.dims = method, dims
	r.gen++
	r.liveEpoch = -1
	if err := r.m.store.PutRun(r.m.storeCtx, r.recordLocked()); err != nil {
		r.m.log.Error("storing run", "run", r.id, "err", err)
	}
	r.publishLocked(&message{text: mustJSON(projectionJSON{Type: "projection", Method: method, Dims: dims})})
	if r.trained >= 0 {
		r.complete = false
	}
	r.kickLocked()
	return r.summaryLocked()
}

// kickLocked starts the projecting goroutine unless it is running.
func (r *run) kickLocked() {
	if r.projecting || r.complete {
		return
	}
	r.projecting = r.m.group.goFunc(r.project)
}

// job is one epoch to project.
type job struct {
	epoch int
	gen   int
	live  bool // the newest epoch, for the live view; else backfill
}

// nextJobLocked picks the next epoch to project: the newest trained epoch
// if the live view has not shown it, else the oldest epoch whose frame is
// missing or from an older projection.
func (r *run) nextJobLocked() (job, bool) {
	if r.m.ctx.Err() != nil || r.trained < 0 {
		return job{}, false
	}
	if r.trained > r.liveEpoch && r.frameGen[r.trained] != r.gen {
		return job{epoch: r.trained, gen: r.gen, live: true}, true
	}
	for e := 0; e <= r.trained; e++ {
		if r.frameGen[e] != r.gen {
			return job{epoch: e, gen: r.gen}, true
		}
	}
	return job{}, false
}

// project is the run's projection stage: it projects epochs until there is
// nothing left to do, then, if training has ended, publishes done.
func (r *run) project() {
	ctx := r.m.ctx
	for {
		r.mu.Lock()
		j, ok := r.nextJobLocked()
		if !ok {
			if r.finished && ctx.Err() == nil && !r.complete {
				r.complete = true
				r.publishLocked(r.doneMessageLocked())
			}
			r.projecting = false
			r.mu.Unlock()
			return
		}
		proj, err := r.projectorLocked()
		r.mu.Unlock()

		var ef *epochFrame
		if err == nil {
			ef, err = r.projectEpoch(ctx, proj, j)
		}

		r.mu.Lock()
		if err != nil && ctx.Err() == nil {
			// Data the projection cannot handle: skip the epoch rather
			// than retry it forever. Viewers keep its previous frame.
			r.m.log.Error("projecting epoch", "run", r.id, "epoch", j.epoch, "err", err)
		}
		if j.gen == r.gen && ctx.Err() == nil {
			r.frameGen[j.epoch] = j.gen
			if j.live {
				r.liveEpoch = j.epoch
			}
			if ef != nil {
				// Stamped here, under the lock that orders publishing, so
				// sent_ms is the moment viewers' queues receive it.
				msg := ef.message(time.Now())
				if err := r.m.store.PutFrame(r.m.storeCtx, r.id, FrameRecord{
					Epoch: j.epoch, Method: r.method, Dims: r.dims, Text: msg.text, Binary: msg.binary,
				}); err != nil {
					r.m.log.Error("storing frame", "run", r.id, "epoch", j.epoch, "err", err)
				}
				r.publishLocked(msg)
			}
		}
		r.mu.Unlock()
	}
}

// projectorLocked returns the projector for the current method and
// dimensions. A change of method keeps the projector, so the new method's
// first frame continues from the old picture; a change of dimensions needs
// a new one.
func (r *run) projectorLocked() (Projector, error) {
	if r.projector == nil || r.projDims != r.dims {
		p, err := r.m.newProjector(r.method, r.dims, r.cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("making the %s projector: %w", r.method, err)
		}
		r.projector, r.projDims, r.projMethod = p, r.dims, r.method
	}
	if r.projMethod != r.method {
		if err := r.projector.SetMethod(r.method); err != nil {
			return nil, err
		}
		r.projMethod = r.method
	}
	return r.projector, nil
}

// epochFrame is one projected epoch, encoded but for its send time.
type epochFrame struct {
	epoch   int
	live    bool
	metrics json.RawMessage
	info    frameInfo
	binary  []byte
}

// message returns the epoch's messages, published at sent.
func (f *epochFrame) message(sent time.Time) *message {
	return &message{text: encodeEpoch(f.epoch, !f.live, f.metrics, f.info, sent), binary: f.binary, live: f.live}
}

// projectEpoch projects one epoch and encodes its coordinate frame.
func (r *run) projectEpoch(ctx context.Context, p Projector, j job) (*epochFrame, error) {
	rec, err := r.m.store.Epoch(ctx, r.id, j.epoch)
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
	info := frameInfo{
		Method: f.Method, Dims: f.Dims,
		KL: number(f.KL), Trustworthiness: number(f.Trustworthiness), KNNPreservation: number(f.KNNPreservation),
		Seconds: number(f.Seconds),
	}
	return &epochFrame{
		epoch: j.epoch, live: j.live, metrics: rec.Metrics, info: info,
		binary: encodeCoords(j.epoch, f.Coords, n, f.Dims),
	}, nil
}

// doneMessageLocked is the last message of a stream.
func (r *run) doneMessageLocked() *message {
	return &message{text: mustJSON(doneJSON{Type: "done", State: r.state, Epochs: max(r.trained, 0)}), final: true}
}

// subscribe returns a new viewer's queue, already holding hello, the
// history and live (and done, if nothing more will come), and registers it
// for what follows.
func (r *run) subscribe(ctx context.Context) (*subscriber, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	frames, err := r.m.store.Frames(ctx, r.id)
	if err != nil {
		return nil, err
	}
	dsJSON, err := r.helloDatasetLocked()
	if err != nil {
		return nil, err
	}
	msgs := make([]*message, 0, len(frames)+3)
	msgs = append(msgs, &message{text: mustJSON(helloJSON{Type: "hello", Run: r.summaryLocked(), Dataset: dsJSON})})
	for _, f := range frames {
		msgs = append(msgs, &message{text: f.Text, binary: f.Binary})
	}
	msgs = append(msgs, liveMessage)
	if r.complete {
		msgs = append(msgs, r.doneMessageLocked())
		return newSubscriber(msgs), nil
	}
	s := newSubscriber(msgs)
	r.hub.add(s)
	return s, nil
}

// helloDatasetLocked returns hello's dataset part. A run on an upload
// encodes its own, once: its pixels URL is the run's, since viewers who
// follow a link may not see the upload itself.
func (r *run) helloDatasetLocked() (json.RawMessage, error) {
	if !r.dsEntry.Uploaded {
		return r.m.datasetJSON(r.dsEntry)
	}
	if r.hello == nil {
		b, err := encodeDatasetHello(r.dsEntry, "/api/runs/"+r.id+"/pixels")
		if err != nil {
			return nil, err
		}
		r.hello = b
	}
	return r.hello, nil
}

// unsubscribe forgets a viewer.
func (r *run) unsubscribe(s *subscriber) { r.hub.remove(s) }

// datasetHello is the dataset part of hello.
type datasetHello struct {
	ID          string   `json:"id"` // the registry key, as the run config names it
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Kind        string   `json:"kind"`
	Items       int      `json:"items"`
	Dim         int      `json:"dim"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	ClassNames  []string `json:"class_names"`
	Labels      []int32  `json:"labels"` // dataset.NoLabel (-1) when unlabelled
	Splits      []int    `json:"splits"` // 0 train, 1 test
	PixelsURL   string   `json:"pixels_url"`
	Texts       []string `json:"texts,omitempty"` // each item's text, clipped (text datasets, uploads with names)
	Names       []string `json:"names,omitempty"` // each item's name (interactions: the tracks)
	Uploaded    bool     `json:"uploaded"`
	Precomputed bool     `json:"precomputed"`
	Synthetic   bool     `json:"synthetic"`
}

// encodeDatasetHello encodes hello's dataset part. pixelsURL overrides the
// dataset's own pixels URL for image datasets when not "".
func encodeDatasetHello(e datasetEntry, pixelsURL string) (json.RawMessage, error) {
	d := e.ds
	h := datasetHello{
		ID: e.ID, Name: e.Name, Title: d.Title, Kind: string(d.Kind), Items: d.Len(), Dim: d.Dim,
		Width: d.Width, Height: d.Height, ClassNames: d.ClassNames, Labels: d.Labels,
		Splits:   make([]int, d.Len()),
		Names:    d.ItemNames,
		Uploaded: e.Uploaded, Precomputed: e.Precomputed, Synthetic: e.Synthetic,
	}
	if h.ClassNames == nil {
		h.ClassNames = []string{}
	}
	if d.Text != nil {
		h.Texts = make([]string, len(d.Text))
		for i, t := range d.Text {
			h.Texts[i] = clip(t)
		}
	}
	for i, s := range d.Splits {
		h.Splits[i] = int(s)
	}
	if d.Kind == dataset.Images {
		h.PixelsURL = "/api/datasets/" + e.ID + "/pixels"
		if pixelsURL != "" {
			h.PixelsURL = pixelsURL
		}
	}
	return json.Marshal(h)
}
