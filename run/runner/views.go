package runner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// View is a projection of a run that a viewer asks for (see Run.Join):
// Method and Dims, or the zero View for the run's own projection, the one
// its owner chose, which the store keeps and every viewer of the zero View
// shares.
//
// From, when set, names another run on the same items whose layout in
// the same projection the view starts from (projection.Live.StartFrom): a
// comparison of two runs shows the second started from the first, so the
// same classes sit in the same places. Such a view is projected epoch by
// epoch in order, and starts from the other run's frame of its first epoch
// (or the nearest one that run has), if that run has one by the view's
// third frame (startTries); otherwise its frames are its own.
type View struct {
	Method string
	Dims   int
	From   string
}

// Own reports whether v is the run's own projection.
func (v View) Own() bool { return v == View{} }

// Check validates a view asked for by a viewer.
func (v View) Check() error {
	if v.Own() {
		return nil
	}
	if v.From != "" && !validID(v.From) {
		return run.Errorf(run.Invalid, "init", "%q is not a run id", v.From)
	}
	return validProjection(v.Method, v.Dims, "method")
}

// validID reports whether s could be a run's id: 1 to 64 letters, digits,
// '-' and '_'.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// String names the view ("tsne/3", "tsne/2@abc" started from run abc), ""
// for the run's own.
func (v View) String() string {
	if v.Own() {
		return ""
	}
	s := v.Method + "/" + strconv.Itoa(v.Dims)
	if v.From != "" {
		s += "@" + v.From
	}
	return s
}

// Projection is the view's method and dimensions alone.
func (v View) Projection() View { return View{Method: v.Method, Dims: v.Dims} }

// altView is a projection of the run that viewers chose for themselves.
// It is projected by the run's projecting goroutine, so in the run's CPU
// slot like the run's own projection, and after it: the run's own live
// frame first, then each view's live frame, then the backfill of the run's
// own, then the views'. Its frames are held in memory only, within the
// manager's budget for views, while anyone watches it and for evictAfter
// after the last viewer leaves. A view equal to the run's own projection
// is given the run's frames instead of projecting them again.
type altView struct {
	view      View
	frames    []*run.FrameRecord // per epoch: nil until projected
	tried     []bool             // per epoch: projected, or skipped because projection failed
	liveEpoch int                // newest epoch projected live, -1 for none
	projector Projector
	viewers   int
	idleSince time.Time // when the last viewer left
	complete  bool      // done has been published for this view
	bytes     int64     // reserved from the manager's budget
	started   bool      // View.From: the projector was started from that run's layout, or gave up
	tries     int       // View.From: frames projected looking for that run's layout
}

// grow makes room for epochs 0..n-1.
func (a *altView) grow(n int) {
	for len(a.frames) < n {
		a.frames = append(a.frames, nil)
		a.tried = append(a.tried, false)
	}
}

// truncate forgets epochs n and later (a resumed run trains them again).
func (a *altView) truncate(n int) {
	n = max(n, 0)
	if len(a.frames) > n {
		clear(a.frames[n:])
		a.frames, a.tried = a.frames[:n], a.tried[:n]
	}
	a.liveEpoch = min(a.liveEpoch, n-1)
	a.complete = false
}

// done reports whether every epoch up to trained has been tried.
func (a *altView) done(trained int) bool {
	return len(a.tried) > trained && !slices.Contains(a.tried[:trained+1], false)
}

// mainViewLocked returns the run's own projection.
func (r *Run) mainViewLocked() View { return View{Method: r.cfg.Projection, Dims: r.cfg.Dims} }

// wantsWorkLocked reports whether a has viewers and frames of its own to
// project: a view equal to the run's own is given the run's frames.
func (r *Run) wantsWorkLocked(a *altView) bool {
	return a.viewers > 0 && a.view != r.mainViewLocked()
}

// joinViewLocked registers one more viewer of view v, making the view if
// it is new, and returns it with its frames of epochs from and later.
func (r *Run) joinViewLocked(ctx context.Context, v View, from int) (*altView, []run.FrameRecord, error) {
	i := slices.IndexFunc(r.alts, func(a *altView) bool { return a.view == v })
	var a *altView
	if i >= 0 {
		a = r.alts[i]
	} else {
		var err error
		if a, err = r.newViewLocked(ctx, v); err != nil {
			return nil, nil, err
		}
		r.alts = append(r.alts, a)
	}
	a.viewers++
	var frames []run.FrameRecord
	for e := max(from, 0); e < len(a.frames); e++ {
		if f := a.frames[e]; f != nil {
			frames = append(frames, *f)
		}
	}
	return a, frames, nil
}

// newViewLocked makes view v of the run, reserving its frames' memory;
// one equal to the run's own projection starts with the frames stored.
func (r *Run) newViewLocked(ctx context.Context, v View) (*altView, error) {
	n := r.ds.Data.Len()
	epochs := max(r.cfg.Epochs, r.trained) + 1
	bytes := int64(epochs)*int64(n)*int64(v.Dims)*4 + int64(epochs)*frameOverhead
	if !r.m.reserveViews(bytes) {
		return nil, run.Errorf(run.Unavailable, "", "the server is busy computing other viewers' projections; try again in a minute or follow the run's own projection")
	}
	a := &altView{view: v, liveEpoch: -1, bytes: bytes}
	a.grow(r.trained + 1)
	if v == r.mainViewLocked() && r.trained >= 0 {
		stored, err := r.m.store.Frames(ctx, r.id, 0)
		if err != nil {
			r.m.releaseViews(bytes)
			return nil, fmt.Errorf("reading frames of run %s: %w", r.id, err)
		}
		for e := range a.tried {
			a.tried[e] = r.frameGen[e] == r.gen // projected, or skipped
		}
		for i := range stored {
			if f := &stored[i]; f.Epoch < len(a.frames) && a.tried[f.Epoch] && f.Method == v.Method && f.Dims == v.Dims {
				a.frames[f.Epoch] = f
			}
		}
		a.liveEpoch = r.liveEpoch
	}
	return a, nil
}

// frameOverhead is what a frame costs beyond its coordinates: its record,
// metrics and quality figures.
const frameOverhead = 2 << 10

// leaveView is what Join returns for a viewer of a: the viewer has gone.
func (r *Run) leaveView(a *altView) func() {
	return sync.OnceFunc(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		a.viewers--
		if a.viewers == 0 {
			a.idleSince = time.Now()
		}
		r.lastUsed = time.Now()
	})
}

// shareLocked gives frame f of epoch e in the run's own projection (nil
// when projecting it failed) to the views equal to it, as their own.
func (r *Run) shareLocked(e int, f *run.FrameRecord, live bool) {
	v := r.mainViewLocked()
	for _, a := range r.alts {
		if a.view != v {
			continue
		}
		a.grow(e + 1)
		if a.tried[e] {
			continue
		}
		a.tried[e] = true
		if live {
			a.liveEpoch = max(a.liveEpoch, e)
		}
		if f != nil {
			a.frames[e] = f
			r.viewers.Publish(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: f, Live: live, View: a.view})
		}
	}
}

// seedFromViewLocked gives the run's own projection, just switched, the
// frames a view of the same projection already holds: they are stored and
// sent to the run's viewers, and not projected again.
func (r *Run) seedFromViewLocked() {
	v := r.mainViewLocked()
	i := slices.IndexFunc(r.alts, func(a *altView) bool { return a.view == v })
	if i < 0 {
		return
	}
	a := r.alts[i]
	for e := 0; e <= r.trained && e < len(a.frames); e++ {
		f := a.frames[e]
		if f == nil {
			continue
		}
		g := *f
		g.Backfill, g.Sent = true, time.Now()
		if err := r.m.store.PutFrame(r.m.storeCtx, r.id, g); err != nil {
			r.m.log.Error("storing frame", "run", r.id, "epoch", e, "err", err)
			continue
		}
		r.frameGen[e] = r.gen
		if e == r.trained {
			r.liveEpoch = e
		}
		r.emitLocked(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: &g})
	}
}

// viewJobLocked returns the next epoch a view needs projected: live
// first, then backfill, oldest first.
func (r *Run) viewJobLocked(live bool) (job, bool) {
	for _, a := range r.alts {
		if !r.wantsWorkLocked(a) {
			continue
		}
		a.grow(r.trained + 1)
		if a.view.From != "" {
			// In epoch order, each frame continuing from the one before,
			// the first started from the other run's layout.
			if e := slices.Index(a.tried[:r.trained+1], false); e >= 0 {
				return job{epoch: e, live: e == r.trained && live, alt: a}, true
			}
			continue
		}
		if live {
			if r.trained > a.liveEpoch && !a.tried[r.trained] {
				return job{epoch: r.trained, live: true, alt: a}, true
			}
			continue
		}
		if e := slices.Index(a.tried[:r.trained+1], false); e >= 0 {
			return job{epoch: e, alt: a}, true
		}
	}
	return job{}, false
}

// viewProjectorLocked returns a's projector, made on first use.
func (r *Run) viewProjectorLocked(a *altView) (Projector, error) {
	if a.projector == nil {
		p, err := r.m.newProjector(a.view.Method, a.view.Dims, r.cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("making the %s projector: %w", a.view.Method, err)
		}
		a.projector = p
	}
	return a.projector, nil
}

// startTries is how many of a view's first frames look for the other
// run's layout (View.From) before the view goes on with its own: the
// comparison page opens the second run's view once the first has a frame,
// so the first look normally finds it.
const startTries = 3

// startView starts the projector of view a (View.From) from the other
// run's layout nearest epoch, if that run has one by a's first few frames;
// until then, and after, a's frames are its own. It is called by the
// projecting goroutine, holding no lock.
func (r *Run) startView(ctx context.Context, a *altView, p Projector, epoch int) {
	r.mu.Lock()
	done := a.started
	a.tries++
	if a.tries >= startTries {
		a.started = true // this is the last look
	}
	r.mu.Unlock()
	if done {
		return
	}
	n := r.ds.Data.Len()
	layout := r.m.layoutNear(ctx, a.view.From, a.view.Projection(), epoch, n)
	if layout == nil {
		return
	}
	if err := p.StartFrom(layout, n); err != nil {
		r.m.log.Error("starting a view from another run's layout", "run", r.id, "from", a.view.From, "err", err)
	}
	r.mu.Lock()
	a.started = true
	r.mu.Unlock()
}

// layoutNear returns run id's frame in projection v of the epoch nearest
// epoch, if it has one of n points: from the store when v is its own
// projection, else from a view of it someone watches. Nil otherwise.
func (m *Manager) layoutNear(ctx context.Context, id string, v View, epoch, n int) []float32 {
	other, err := m.Get(ctx, id)
	if err != nil {
		return nil
	}
	var frames []run.FrameRecord
	other.mu.Lock()
	own := v == other.mainViewLocked()
	if !own {
		for _, a := range other.alts {
			if a.view == v {
				for _, f := range a.frames {
					if f != nil {
						frames = append(frames, *f)
					}
				}
			}
		}
	}
	other.mu.Unlock()
	if own {
		if frames, err = m.store.Frames(ctx, id, 0); err != nil {
			return nil
		}
	}
	var best []float32
	gap := -1
	for _, f := range frames {
		if f.Method != v.Method || f.Dims != v.Dims || len(f.Coords) != n*v.Dims {
			continue
		}
		if g := max(f.Epoch-epoch, epoch-f.Epoch); gap < 0 || g < gap {
			best, gap = f.Coords, g
		}
	}
	return best
}

// viewFrameLocked records the frame a view's job made (nil when projecting
// failed) and sends it to the view's viewers.
func (r *Run) viewFrameLocked(j job, f *run.FrameRecord) {
	a := j.alt
	if !slices.Contains(r.alts, a) || j.epoch >= len(a.tried) {
		return // evicted, or the run was resumed from an earlier epoch
	}
	a.tried[j.epoch] = true
	if j.live {
		a.liveEpoch = j.epoch
	}
	if f != nil {
		f.Method, f.Dims = a.view.Method, a.view.Dims
		f.Sent = time.Now()
		a.frames[j.epoch] = f
		r.viewers.Publish(Event{Kind: EventFrame, Summary: r.summaryLocked(), Frame: f, Live: j.live, View: a.view})
	}
}

// viewsPendingLocked reports whether a view has viewers and is not
// complete: the projecting goroutine has work, or done to publish.
func (r *Run) viewsPendingLocked() bool {
	return slices.ContainsFunc(r.alts, func(a *altView) bool { return a.viewers > 0 && !a.complete })
}

// completeViewsLocked publishes done for every view of a finished run that
// holds every epoch, and trims their projectors.
func (r *Run) completeViewsLocked() {
	for _, a := range r.alts {
		if !a.complete && a.done(r.trained) {
			a.complete = true
			r.viewers.Publish(Event{Kind: EventDone, Summary: r.summaryLocked(), View: a.view})
		}
		if a.projector != nil {
			a.projector.Trim()
		}
	}
}

// dropViewsLocked forgets the views idle since before cutoff (every view
// when cutoff is zero), giving their memory back; a deleted run's viewers
// are told done.
func (r *Run) dropViewsLocked(cutoff time.Time) {
	r.alts = slices.DeleteFunc(r.alts, func(a *altView) bool {
		if !cutoff.IsZero() && (a.viewers > 0 || !a.idleSince.Before(cutoff)) {
			return false
		}
		if r.deleted && !a.complete {
			a.complete = true
			r.viewers.Publish(Event{Kind: EventDone, Summary: r.summaryLocked(), View: a.view})
		}
		r.m.releaseViews(a.bytes)
		return true
	})
}

// Views returns the projections viewers chose for themselves that the run
// holds, for tests and diagnostics.
func (r *Run) Views() []View {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]View, len(r.alts))
	for i, a := range r.alts {
		out[i] = a.view
	}
	return out
}

// reserveViews takes n bytes of the budget for views' frames, or reports
// false when the budget has not that much left.
func (m *Manager) reserveViews(n int64) bool {
	for {
		used := m.viewBytes.Load()
		if used+n > m.o.MaxViewBytes {
			return false
		}
		if m.viewBytes.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// releaseViews gives n bytes back to the budget for views.
func (m *Manager) releaseViews(n int64) { m.viewBytes.Add(-n) }

// ViewBytes returns the memory reserved for views' frames, for tests and
// diagnostics.
func (m *Manager) ViewBytes() int64 { return m.viewBytes.Load() }
