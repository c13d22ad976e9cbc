package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/floatblob"
)

// This file is the manager as one replica among several (docs/scaling.md):
// runs are queued in the store they share and trained by whichever replica
// claims them; each event of a run's own view goes out once on the Bus,
// and every replica holding the run in memory applies it and tells its own
// viewers; controls of a run that trains elsewhere go over the Bus to the
// replica that trains it.

// Bus carries runs' events and controls between replicas: run/natsbus over
// NATS. Publish must not block; Subscribe delivers one subject's messages
// one at a time, in the order they were published.
type Bus interface {
	Publish(subject string, data []byte) error
	Subscribe(subject string, fn func(data []byte)) (cancel func(), err error)
	Handle(subject string, fn func(req []byte) []byte) (cancel func(), err error)
	Request(ctx context.Context, subject string, req []byte) ([]byte, error)
	// NoHandler reports whether a Request's error says nobody handles
	// the subject.
	NoHandler(err error) bool
	// MaxPayload is the largest message the Bus carries, in bytes.
	MaxPayload() int
	// OnReconnect calls fn each time the Bus comes back after a loss, or
	// after messages were dropped for a subscription too slow to take them.
	OnReconnect(fn func())
}

// Queue is the run queue of replicas sharing a store: run/postgres (and
// run/memory, for tests in one process). See storetest.RunQueue.
type Queue interface {
	// Claim makes replica the owner of the oldest queued run that nobody
	// owns or whose owner's heartbeat is older than stale, with heartbeat
	// at; ok is false when none waits.
	Claim(ctx context.Context, replica string, at, stale time.Time) (rec run.Record, ok bool, err error)
	// Requeue puts rec's run back in the queue, owned by nobody, if its
	// record still has rec's State, Owner and Heartbeat.
	Requeue(ctx context.Context, rec run.Record, at time.Time) (bool, error)
	// Unqueue stops a queued run no live replica has claimed (owner
	// nobody, or heartbeat before stale).
	Unqueue(ctx context.Context, id string, at, stale time.Time) (bool, error)
	// EditQueued sets the name and config of a queued run no live replica
	// has claimed.
	EditQueued(ctx context.Context, id, name string, cfg run.Config, at, stale time.Time) (bool, error)
}

// The Bus's subjects.
const queueSubject = "explorer.queue" // a run was queued: claim it

func eventsSubject(id string) string  { return "explorer.run." + id + ".events" }
func controlSubject(id string) string { return "explorer.run." + id + ".control" }

// Timing of the shared queue.
const (
	claimEvery     = time.Second     // a replica with a free slot looks at the queue at least this often
	forwardPatient = 3 * time.Second // how long a control waits for the run's replica to answer at all
)

// cluster is what a Manager keeps as one replica among several.
type cluster struct {
	bus    Bus
	queue  Queue
	wake   chan struct{} // claim now
	queued atomic.Int64  // runs waiting in the shared queue, as last counted
	cancel []func()      // the manager's own subscriptions
}

// newCluster checks that o can make a replica of the manager.
func newCluster(o Options) (*cluster, error) {
	q, ok := o.Store.(Queue)
	if !ok {
		return nil, errors.New("runner: replicas sharing a Bus need a store that is also a run queue (PostgreSQL)")
	}
	if o.Replica == "" {
		return nil, errors.New("runner: replicas sharing a Bus need Options.Replica")
	}
	return &cluster{bus: o.Bus, queue: q, wake: make(chan struct{}, 1)}, nil
}

// startCluster subscribes the manager to the queue's announcements and
// starts claiming, unless it trains nothing.
func (m *Manager) startCluster() error {
	cancel, err := m.cl.bus.Subscribe(queueSubject, func([]byte) { m.wakeLocal() })
	if err != nil {
		return fmt.Errorf("runner: subscribing to the run queue: %w", err)
	}
	m.cl.cancel = append(m.cl.cancel, cancel)
	m.cl.bus.OnReconnect(m.resyncAll)
	if !m.o.NoTraining {
		m.group.Go(m.claimLoop)
	}
	return nil
}

func (m *Manager) wakeLocal() {
	select {
	case m.cl.wake <- struct{}{}:
	default:
	}
}

// wakeClaimers tells every replica, this one too, that a run is queued.
func (m *Manager) wakeClaimers() {
	m.wakeLocal()
	if err := m.cl.bus.Publish(queueSubject, nil); err != nil {
		m.log.Warn("announcing a queued run", "err", err)
	}
}

// claimLoop claims queued runs while this replica has free slots.
func (m *Manager) claimLoop() {
	t := time.NewTicker(claimEvery)
	defer t.Stop()
	for {
		m.claimFree()
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		case <-m.cl.wake:
		}
	}
}

// claimFree claims and starts queued runs until the slots are full or
// the queue is empty.
func (m *Manager) claimFree() {
	for m.ctx.Err() == nil {
		m.mu.Lock()
		if m.active >= m.o.MaxRuns {
			m.mu.Unlock()
			return
		}
		m.active++ // the slot of the run claimed, if any
		m.mu.Unlock()
		now := time.Now()
		rec, ok, err := m.cl.queue.Claim(m.ctx, m.o.Replica, now, now.Add(-m.o.HeartbeatTimeout))
		if err != nil || !ok {
			if err != nil && m.ctx.Err() == nil {
				m.log.Warn("claiming a queued run", "err", err)
			}
			m.release()
			return
		}
		if err := m.adopt(rec); err != nil {
			m.release()
			if m.ctx.Err() != nil {
				return
			}
			m.log.Error("starting a claimed run", "run", rec.ID, "err", err)
			m.failClaimed(rec)
		}
	}
}

// failClaimed stores a claimed run that cannot start here (its dataset
// is gone, say) as failed, rather than leave it to be claimed forever.
func (m *Manager) failClaimed(rec run.Record) {
	if _, err := m.store.Run(m.ctx, rec.ID); err != nil {
		return // deleted meanwhile: PutRun would bring it back
	}
	rec.State, rec.Error, rec.Updated = run.Failed, "the run could not be started on the replica that took it from the queue", time.Now()
	if err := m.store.PutRun(m.storeCtx, rec); err != nil {
		m.log.Error("storing run", "run", rec.ID, "err", err)
		return
	}
	epoch, _, err := m.store.Checkpoint(m.ctx, rec.ID)
	if err != nil {
		epoch = -1
	}
	m.mu.Lock()
	r := m.runs[rec.ID]
	m.mu.Unlock()
	if r == nil {
		m.share(rec.ID, wireEvent{Kind: EventDone, Summary: summaryOf(rec, epoch), Trained: epoch})
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.training {
		return
	}
	r.state, r.errMsg, r.queuePos = run.Failed, rec.Error, 0
	r.goLocalLocked() // then its done goes out from here
	r.emitLocked(Event{Kind: EventState, Summary: r.summaryLocked()})
	r.emitLocked(Event{Kind: EventError, Summary: r.summaryLocked()})
	r.kickLocked()
}

// adopt starts training rec's run, which this replica has just claimed,
// in the slot claimFree holds for it: from its checkpoint if it has one.
func (m *Manager) adopt(rec run.Record) error {
	r, err := m.holdForAdoption(rec.ID)
	if err != nil {
		return err
	}
	defer func() {
		r.mu.Lock()
		r.adopting = false
		r.mu.Unlock()
	}()
	// A trainer fenced here a moment ago may not have returned yet.
	r.mu.Lock()
	ended, training := r.ended, r.training
	fresh := r.tr
	if r.trained >= 0 {
		fresh = nil
	}
	r.mu.Unlock()
	if training {
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			return errors.New("its previous training here has not stopped")
		case <-m.ctx.Done():
			return m.ctx.Err()
		}
	}
	tr, epoch, err := m.trainerFor(m.ctx, r, fresh)
	if err != nil {
		return err
	}
	stop, err := m.cl.bus.Handle(controlSubject(r.id), r.serveControl)
	if err != nil {
		return fmt.Errorf("serving the run's controls: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r.mu.Lock()
	if r.deleted || r.training {
		r.mu.Unlock()
		stop()
		return errors.New("the run is deleted or trains here already")
	}
	// The claimed record is the newest word on the run (an edit while it
	// was queued may not have reached this replica yet).
	r.name, r.cfg, r.errMsg = rec.Name, rec.Config, ""
	r.remote, r.log, r.owner, r.stopServing = false, nil, m.o.Replica, stop
	r.prepareLocked(tr, epoch)
	r.mu.Unlock()
	if !r.start(m.ctx) {
		m.active--
	}
	m.log.Info("run claimed", "run", r.id, "from_epoch", epoch+1)
	return nil
}

// holdForAdoption returns run id as the manager holds it, marked so that
// eviction leaves it and other replicas' events are ignored until it
// trains.
func (m *Manager) holdForAdoption(id string) (*Run, error) {
	for range 3 {
		r, err := m.Get(m.ctx, id)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		held := m.runs[id] == r
		if held {
			r.mu.Lock()
			r.adopting = true
			r.mu.Unlock()
		}
		m.mu.Unlock()
		if held {
			return r, nil
		}
		// Evicted between Get and here: get it again.
	}
	return nil, errors.New("the run keeps being dropped from memory")
}

// requeue puts an unfinished run whose replica is gone back in the shared
// queue, and tells the replicas that hold it.
func (m *Manager) requeue(ctx context.Context, l run.Listing) (bool, error) {
	ok, err := m.cl.queue.Requeue(ctx, l.Record, time.Now())
	if err != nil || !ok {
		return ok, err
	}
	rec := l.Record
	rec.State, rec.Owner = run.Queued, ""
	m.share(rec.ID, wireEvent{Kind: EventState, Summary: summaryOf(rec, l.Epoch), Trained: l.Epoch})
	m.wakeClaimers()
	return true, nil
}

// summaryOf is a Summary of a record whose newest epoch is epoch.
func summaryOf(rec run.Record, epoch int) Summary {
	return Summary{
		ID: rec.ID, Session: rec.Session, Name: rec.Name, State: rec.State, Epoch: max(epoch, 0),
		Config: rec.Config, Error: rec.Error,
	}
}

// countQueued counts the runs waiting in the shared queue, for Load.
func (m *Manager) countQueued() {
	list, err := m.store.Runs(m.ctx, run.RunFilter{States: []run.State{run.Queued}})
	if err == nil {
		m.cl.queued.Store(int64(len(list)))
	}
}

// admitShared refuses a new run of session when the shared queue is full
// or the session has too many unfinished runs, counted in the store.
func (m *Manager) admitShared(ctx context.Context, session string) error {
	list, err := m.store.Runs(ctx, run.RunFilter{States: []run.State{run.Queued, run.Running, run.Paused}})
	if err != nil {
		return err
	}
	queued, mine := 0, 0
	for _, l := range list {
		if l.State == run.Queued {
			queued++
		}
		if session != "" && l.Session == session {
			mine++
		}
	}
	m.cl.queued.Store(int64(queued))
	if mine >= m.o.MaxPerSession {
		return run.Errorf(run.TooMany, "", "you have %d runs queued or training, the most one browser may have; stop one or wait for one to finish", mine)
	}
	if queued >= m.o.MaxQueued {
		return run.Errorf(run.TooMany, "", "%d runs are waiting for the servers already, the most they queue; try again in a few minutes", queued)
	}
	return nil
}

// wireEvent is an Event as it travels between replicas: a JSON header,
// then, for a frame, a newline and its coordinates (floatblob).
type wireEvent struct {
	From    string     `json:"from"`
	Kind    EventKind  `json:"kind"`
	Summary Summary    `json:"summary"`
	Trained int        `json:"trained"` // newest epoch trained, -1 for none
	Live    bool       `json:"live,omitempty"`
	Deleted bool       `json:"deleted,omitempty"`
	Frame   *wireFrame `json:"frame,omitempty"`
}

// wireFrame is a frame's header. InStore says its coordinates were too
// large for the Bus: the receiver reads the frame from the store.
type wireFrame struct {
	Epoch    int             `json:"epoch"`
	Method   string          `json:"method"`
	Dims     int             `json:"dims"`
	Quality  run.Quality     `json:"quality"`
	Metrics  json.RawMessage `json:"metrics,omitempty"`
	Backfill bool            `json:"backfill,omitempty"`
	Sent     time.Time       `json:"sent"`
	InStore  bool            `json:"in_store,omitempty"`
}

// encode returns e as the Bus carries it, with f's coordinates unless
// they would make the message larger than limit.
func (e wireEvent) encode(f *run.FrameRecord, limit int) ([]byte, error) {
	var coords []byte
	if f != nil {
		e.Frame = &wireFrame{
			Epoch: f.Epoch, Method: f.Method, Dims: f.Dims, Quality: f.Quality, Metrics: f.Metrics,
			Backfill: f.Backfill, Sent: f.Sent,
		}
		coords = floatblob.Encode(f.Coords)
	}
	head, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return head, nil
	}
	if len(head)+1+len(coords) > limit-512 { // room for NATS's own headers
		e.Frame.InStore = true
		return json.Marshal(e)
	}
	return append(append(head, '\n'), coords...), nil
}

// decodeEvent parses a message of the Bus; the frame, if any, has nil
// Coords when they are to be read from the store.
func decodeEvent(b []byte) (wireEvent, *run.FrameRecord, error) {
	head, coords, _ := bytes.Cut(b, []byte{'\n'})
	var e wireEvent
	if err := json.Unmarshal(head, &e); err != nil {
		return e, nil, err
	}
	if e.Frame == nil {
		return e, nil, nil
	}
	w := e.Frame
	f := &run.FrameRecord{
		Epoch: w.Epoch, Method: w.Method, Dims: w.Dims, Quality: w.Quality, Metrics: w.Metrics,
		Backfill: w.Backfill, Sent: w.Sent,
	}
	if !w.InStore {
		c, err := floatblob.Decode(coords)
		if err != nil {
			return e, nil, fmt.Errorf("frame of epoch %d: %w", w.Epoch, err)
		}
		f.Coords = c
	}
	return e, f, nil
}

// share publishes e of run id on the Bus, from this replica.
func (m *Manager) share(id string, e wireEvent, f ...*run.FrameRecord) {
	e.From = m.o.Replica
	var frame *run.FrameRecord
	if len(f) > 0 {
		frame = f[0]
	}
	b, err := e.encode(frame, m.cl.bus.MaxPayload())
	if err == nil {
		err = m.cl.bus.Publish(eventsSubject(id), b)
	}
	if err != nil {
		m.log.Warn("publishing a run's event", "run", id, "err", err)
	}
}

// emitLocked tells the run's viewers of e and, when this replica is where
// the run's own view is made, every other replica.
func (r *Run) emitLocked(e Event) {
	r.viewers.Publish(e)
	if r.m.cl != nil && !r.remote && !r.fenced && e.View.Own() {
		r.m.share(r.id, wireEvent{Kind: e.Kind, Summary: e.Summary, Trained: r.trained, Live: e.Live}, e.Frame)
	}
}

// follower feeds a run's events from the Bus to the run, keeping those
// that come while the run is being rebuilt from the store until it is.
type follower struct {
	mu      sync.Mutex
	r       *Run
	pending [][]byte
}

func (f *follower) deliver(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r == nil {
		f.pending = append(f.pending, b)
		return
	}
	f.r.applyRemote(b)
}

// attach hands the run the events kept for it, then every later one.
func (f *follower) attach(r *Run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r = r
	for _, b := range f.pending {
		r.applyRemote(b)
	}
	f.pending = nil
}

// subscribe starts following run id's events; attach the run to the
// follower once it is built. It returns nils without a Bus.
func (m *Manager) subscribe(id string) (*follower, func()) {
	if m.cl == nil {
		return nil, nil
	}
	f := &follower{}
	cancel, err := m.cl.bus.Subscribe(eventsSubject(id), f.deliver)
	if err != nil {
		m.log.Warn("following a run", "run", id, "err", err)
		return nil, nil
	}
	return f, cancel
}

// applyRemote applies an event another replica published about the run:
// its state, and its frames for this replica's viewers.
func (r *Run) applyRemote(b []byte) {
	m := r.m
	e, f, err := decodeEvent(b)
	if err != nil {
		m.log.Warn("a run's event from the bus", "run", r.id, "err", err)
		return
	}
	if e.From == m.o.Replica {
		return
	}
	if e.Deleted {
		m.drop(r)
		return
	}
	if f != nil && f.Coords == nil {
		if f = m.storedFrame(r.id, f); f == nil {
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applyLocked(e, f)
}

// applyLocked applies another replica's event e (and its frame f).
func (r *Run) applyLocked(e wireEvent, f *run.FrameRecord) {
	if r.deleted || r.training || r.adopting || r.fenced {
		// This replica trains the run, or is taking it over: another's
		// word about it is stale.
		return
	}
	s := e.Summary
	if !r.remote && (!s.State.Ended() || e.Kind == EventProjection || e.Kind == EventFrame) {
		r.goRemoteLocked()
	}
	if r.remote {
		r.tr = nil // trains elsewhere
	}
	if s.Config.Projection != r.cfg.Projection || s.Config.Dims != r.cfg.Dims {
		r.gen++
		r.liveEpoch = -1
	}
	r.cfg, r.name, r.errMsg, r.resumable = s.Config, s.Name, s.Error, s.Resumable
	r.state, r.queuePos = s.State, s.QueuePosition
	if e.Trained < r.trained {
		// Resumed from an earlier checkpoint: later epochs come again.
		r.truncateLocked(e.Trained)
	}
	r.trained = e.Trained
	for len(r.frameGen) <= r.trained {
		r.frameGen = append(r.frameGen, -1)
	}
	switch e.Kind {
	case EventFrame:
		if f == nil {
			return
		}
		for len(r.frameGen) <= f.Epoch {
			r.frameGen = append(r.frameGen, -1)
		}
		if old := r.logged(f.Epoch); sameFrame(old, f) {
			return // read from the store already
		}
		r.logLocked(f)
		r.frameGen[f.Epoch] = r.gen
		if e.Live {
			r.liveEpoch = f.Epoch
		}
		r.viewers.Publish(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: f, Live: e.Live})
		r.shareLocked(f.Epoch, f, e.Live) // with the views viewers chose that are the run's own
	case EventDone:
		// The replica that made the run's view has nothing more to add:
		// from now on the run is this replica's to show as it is stored.
		r.catchUpLocked()
		r.remote, r.log, r.finished, r.complete = false, nil, true, true
		r.viewers.Publish(Event{Kind: EventDone, Summary: r.summaryLocked()})
	default:
		if !s.State.Ended() {
			r.finished, r.complete = false, false
		}
		r.viewers.Publish(Event{Kind: e.Kind, Summary: r.summaryLocked()})
	}
	r.kickLocked() // the views viewers chose follow
}

// sameFrame reports whether a (nil for none) and b are the same frame:
// the same epoch first sent at the same moment, to the millisecond that
// every store keeps (the bus carries nanoseconds).
func sameFrame(a, b *run.FrameRecord) bool {
	if a == nil || a.Epoch != b.Epoch {
		return false
	}
	d := a.Sent.Sub(b.Sent)
	return d > -time.Millisecond && d < time.Millisecond
}

// storedFrame reads the frame a Bus message announced without its
// coordinates; nil when the store no longer has that one.
func (m *Manager) storedFrame(id string, want *run.FrameRecord) *run.FrameRecord {
	frames, err := m.store.Frames(m.ctx, id, want.Epoch)
	if err != nil || len(frames) == 0 {
		return nil
	}
	f := frames[0]
	if f.Method != want.Method || f.Dims != want.Dims || !sameFrame(&f, want) {
		return nil // replaced meanwhile: the newer one's event follows
	}
	return &f
}

// goRemoteLocked makes the run one whose own view another replica makes:
// its frames are kept in memory from the store, then from the Bus.
func (r *Run) goRemoteLocked() {
	r.remote, r.finished, r.complete = true, false, false
	r.log = nil
	frames, err := r.m.store.Frames(r.m.storeCtx, r.id, 0)
	if err != nil {
		r.m.log.Warn("reading a run's frames", "run", r.id, "err", err)
	}
	for i := range frames {
		r.logLocked(&frames[i])
	}
}

// logged returns the frame of epoch e kept for viewers of a remote run.
func (r *Run) logged(e int) *run.FrameRecord {
	if e < 0 || e >= len(r.log) {
		return nil
	}
	return r.log[e]
}

func (r *Run) logLocked(f *run.FrameRecord) {
	for len(r.log) <= f.Epoch {
		r.log = append(r.log, nil)
	}
	r.log[f.Epoch] = f
}

// catchUpLocked tells viewers the stored frames of the run's projection
// they have not had from the Bus (missed while it was disconnected).
func (r *Run) catchUpLocked() {
	frames, err := r.m.store.Frames(r.m.storeCtx, r.id, 0)
	if err != nil {
		r.m.log.Warn("reading a run's frames", "run", r.id, "err", err)
		return
	}
	for i := range frames {
		f := &frames[i]
		if f.Method != r.cfg.Projection || f.Dims != r.cfg.Dims || f.Epoch > r.trained {
			continue
		}
		if old := r.logged(f.Epoch); sameFrame(old, f) {
			r.frameGen[f.Epoch] = r.gen
			continue
		}
		late := *f // for these viewers, whatever it was for others
		late.Backfill = true
		r.logLocked(&late)
		r.frameGen[f.Epoch] = r.gen
		r.viewers.Publish(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: &late})
		r.shareLocked(late.Epoch, &late, false)
	}
}

// resyncAll catches up every remote run after the Bus came back: its
// record as the store has it now, and the frames missed.
func (m *Manager) resyncAll() {
	for _, r := range m.resident() {
		rec, err := m.store.Run(m.ctx, r.id)
		if err != nil {
			continue
		}
		epoch, _, err := m.store.Checkpoint(m.ctx, r.id)
		if err != nil {
			epoch = -1
		}
		e := wireEvent{Kind: EventState, Summary: summaryOf(rec, epoch), Trained: epoch}
		if rec.State.Ended() {
			e.Kind = EventDone // what was missed comes from the store
		}
		r.mu.Lock()
		if r.remote {
			r.catchUpLocked()
			r.applyLocked(e, nil)
		}
		r.mu.Unlock()
	}
}

// forwardedLocked reports whether the run trains on another replica, so
// its controls go there.
func (r *Run) forwardedLocked() bool { return r.remote && !r.state.Ended() }

// control is a control of a run sent to the replica that trains it.
type control struct {
	Op     string `json:"op"` // "control", "rename", "projection", "stop" or "delete"
	Action string `json:"action,omitempty"`
	Name   string `json:"name,omitempty"`
	Method string `json:"method,omitempty"`
	Dims   int    `json:"dims,omitempty"`
}

// controlReply is the answer: the run as it is after, or an error for the
// user (Code "" for an internal one).
type controlReply struct {
	Summary *Summary   `json:"summary,omitempty"`
	Error   *run.Error `json:"error,omitempty"`
}

// forward sends c to the replica that trains the run, waiting for it to
// answer a few seconds when none does yet (it has just claimed the run,
// or died and the run is being requeued).
func (r *Run) forward(c control) (Summary, error) {
	ctx, cancel := context.WithTimeout(r.m.ctx, 15*time.Second)
	defer cancel()
	req, _ := json.Marshal(c)
	patient := time.Now().Add(forwardPatient)
	for {
		b, err := r.m.cl.bus.Request(ctx, controlSubject(r.id), req)
		if err != nil && r.m.cl.bus.NoHandler(err) && time.Now().Before(patient) {
			select {
			case <-time.After(100 * time.Millisecond):
				continue
			case <-ctx.Done():
			}
		}
		if err != nil {
			r.m.log.Warn("forwarding a control", "run", r.id, "op", c.Op, "err", err)
			return Summary{}, run.Errorf(run.Unavailable, "", "the server training this run does not answer; try again in a moment")
		}
		var rep controlReply
		if err := json.Unmarshal(b, &rep); err != nil {
			return Summary{}, fmt.Errorf("the reply to %s: %w", c.Op, err)
		}
		if rep.Error != nil {
			if rep.Error.Code == "" {
				return Summary{}, fmt.Errorf("%s on the replica training run %s: %s", c.Op, r.id, rep.Error.Message)
			}
			return Summary{}, rep.Error
		}
		if rep.Summary == nil {
			return Summary{}, fmt.Errorf("the reply to %s holds no run", c.Op)
		}
		s := *rep.Summary
		s.Viewers = r.viewers.Len()
		return s, nil
	}
}

// serveControl answers the controls other replicas forward to this one,
// which trains the run.
func (r *Run) serveControl(req []byte) []byte {
	var c control
	var (
		s   Summary
		err error
	)
	if json.Unmarshal(req, &c) != nil {
		err = run.Errorf(run.Invalid, "", "a control this server cannot read")
	} else {
		switch c.Op {
		case "control":
			s, err = r.Control(c.Action)
		case "rename":
			s, err = r.Rename(c.Name)
		case "projection":
			s, err = r.SetProjection(c.Method, c.Dims)
		case "stop":
			s, err = r.m.Stop(r)
		case "delete":
			s = r.Summary()
			err = r.m.Delete(r.m.ctx, r)
		default:
			err = run.Errorf(run.Invalid, "", "unknown control %q", c.Op)
		}
	}
	var rep controlReply
	if err != nil {
		var ue *run.Error
		if !errors.As(err, &ue) {
			r.m.log.Error("a forwarded control", "run", r.id, "op", c.Op, "err", err)
			ue = &run.Error{Message: "internal error"}
		}
		rep.Error = ue
	} else {
		rep.Summary = &s
	}
	b, _ := json.Marshal(rep)
	return b
}

// stopShared stops a run that trains on another replica, or waits in the
// shared queue.
func (m *Manager) stopShared(r *Run) (Summary, error) {
	if ok, err := m.unqueue(r); err != nil {
		return Summary{}, err
	} else if ok {
		return r.Summary(), nil
	}
	return r.forward(control{Op: "stop"})
}

// unqueue stops run r if it waits in the shared queue unclaimed, and
// reports whether it did.
func (m *Manager) unqueue(r *Run) (bool, error) {
	r.mu.Lock()
	state := r.state
	r.mu.Unlock()
	if state != run.Queued {
		return false, nil
	}
	now := time.Now()
	ok, err := m.cl.queue.Unqueue(m.ctx, r.id, now, now.Add(-m.o.HeartbeatTimeout))
	if err != nil || !ok {
		return false, err // claimed meanwhile: its replica stops it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state, r.queuePos = run.Stopped, 0
	r.goLocalLocked()
	r.emitLocked(Event{Kind: EventState, Summary: r.summaryLocked()})
	r.kickLocked()
	return true, nil
}

// deleteShared deletes a run that trains on another replica there (so
// that replica writes nothing of it after), and forgets it here.
func (m *Manager) deleteShared(r *Run) (bool, error) {
	if ok, err := m.unqueue(r); err != nil || ok {
		return false, err // stopped from the queue: deleted here
	}
	if _, err := r.forward(control{Op: "delete"}); err != nil {
		return true, err
	}
	m.drop(r)
	return true, nil
}

// goLocalLocked makes a remote run this replica's to show as stored,
// after it ended without its replica saying so (stopped from the queue).
func (r *Run) goLocalLocked() {
	r.catchUpLocked()
	r.remote, r.log, r.finished = false, nil, true
}

// resumeShared queues an interrupted run in the shared queue, for any
// replica to resume from its checkpoint.
func (m *Manager) resumeShared(ctx context.Context, r *Run) (Summary, error) {
	rec, err := m.store.Run(ctx, r.id)
	if err != nil {
		return Summary{}, err
	}
	if rec.State != run.Interrupted {
		return Summary{}, run.Errorf(run.Conflict, "", "cannot resume: only an interrupted run can be resumed, and this one is %s", rec.State)
	}
	ok, err := m.cl.queue.Requeue(ctx, rec, time.Now())
	if err != nil {
		return Summary{}, err
	}
	if !ok {
		return Summary{}, run.Errorf(run.Conflict, "", "cannot resume: the run changed meanwhile (resumed elsewhere?)")
	}
	r.mu.Lock()
	r.goRemoteLocked()
	r.state, r.owner, r.resumable = run.Queued, "", false
	r.tr = nil
	e := Event{Kind: EventState, Summary: r.summaryLocked()}
	r.viewers.Publish(e)
	m.share(r.id, wireEvent{Kind: EventState, Summary: e.Summary, Trained: r.trained})
	r.mu.Unlock()
	m.wakeClaimers()
	m.log.Info("run queued to resume", "run", r.id)
	return r.Summary(), nil
}

// fence stops training run r here: another replica owns it now (its
// record says so), or this one could not heartbeat for so long that
// another may have. What r trains meanwhile is neither stored nor
// published; finish then makes r a run this replica follows.
func (m *Manager) fence(r *Run, why string) {
	r.mu.Lock()
	if !r.training || r.fenced {
		r.mu.Unlock()
		return
	}
	r.fenced, r.fencedAt = true, time.Now()
	cancel := r.cancel
	r.mu.Unlock()
	m.log.Warn("training stopped: another replica may have the run", "run", r.id, "why", why)
	if cancel != nil {
		cancel()
	}
}

// handedOverLocked ends training of a fenced run: it becomes one whose
// view another replica makes.
func (r *Run) handedOverLocked() {
	r.stepping, r.training, r.cancel, r.fenced = false, false, nil, false
	if r.stopServing != nil {
		r.stopServing()
		r.stopServing = nil
	}
	r.goRemoteLocked()
	r.tr = nil
	// The frames the replica that took over made meanwhile were not told
	// to this replica's viewers (its events were ignored while training).
	for _, f := range r.log {
		if f != nil && f.Sent.After(r.fencedAt) {
			late := *f
			late.Backfill = true
			r.viewers.Publish(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: &late})
		}
	}
}

// fenceTaken fences the runs this replica trains whose stored owner is
// another replica, from list (the unfinished runs).
func (m *Manager) fenceTaken(list []run.Listing) {
	for _, l := range list {
		m.mu.Lock()
		r, ok := m.runs[l.ID]
		m.mu.Unlock()
		if !ok || l.Owner == m.o.Replica {
			continue
		}
		// The listing may be older than this replica's claim of the run:
		// read the record again before stopping anything.
		if rec, err := m.store.Run(m.ctx, l.ID); err == nil && rec.Owner != m.o.Replica {
			m.fence(r, "its record names replica "+rec.Owner)
		}
	}
}

// fenceAll fences every run this replica trains: its heartbeats have
// failed for longer than the others wait.
func (m *Manager) fenceAll() {
	for _, r := range m.resident() {
		m.fence(r, "no heartbeat reached the store for longer than the heartbeat timeout")
	}
}

// editQueuedLocked renames a run that waits in the shared queue, or
// changes its projection, in the store, and tells every replica; it
// reports false when a replica has claimed the run meanwhile (then the
// change is forwarded to it).
func (r *Run) editQueuedLocked(name string, cfg run.Config) (bool, error) {
	if r.state != run.Queued {
		return false, nil
	}
	now := time.Now()
	ok, err := r.m.cl.queue.EditQueued(r.m.ctx, r.id, name, cfg, now, now.Add(-r.m.o.HeartbeatTimeout))
	if err != nil || !ok {
		return false, err
	}
	kind := EventState
	if cfg.Projection != r.cfg.Projection || cfg.Dims != r.cfg.Dims {
		kind = EventProjection
		r.gen++
		r.liveEpoch = -1
	}
	r.name, r.cfg = name, cfg
	e := Event{Kind: kind, Summary: r.summaryLocked()}
	r.viewers.Publish(e)
	r.m.share(r.id, wireEvent{Kind: kind, Summary: e.Summary, Trained: r.trained})
	return true, nil
}
