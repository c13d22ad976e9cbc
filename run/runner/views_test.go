package runner_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
)

// recorder is a run's Viewers that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []runner.Event
}

func (r *recorder) Publish(e runner.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) Len() int { return 0 }

// of returns the events of kind k of view v.
func (r *recorder) of(k runner.EventKind, v runner.View) []runner.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runner.Event
	for _, e := range r.events {
		if e.Kind == k && e.View == v {
			out = append(out, e)
		}
	}
	return out
}

// counting is a ProjectorFactory of column projectors that counts the
// frames projected in each method and dimensions.
type counting struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) factory(method string, dims int, seed uint64) (runner.Projector, error) {
	p, err := runnertest.ColumnProjectors(method, dims, seed)
	return &countedProjector{Projector: p, c: c, method: method, dims: dims}, err
}

func (c *counting) get(method string, dims int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[fmt.Sprintf("%s/%d", method, dims)]
}

type countedProjector struct {
	runner.Projector
	c      *counting
	method string
	dims   int
}

func (p *countedProjector) Project(ctx context.Context, x []float32, n, d int) (runner.Projected, error) {
	p.c.mu.Lock()
	p.c.n[fmt.Sprintf("%s/%d", p.method, p.dims)]++
	p.c.mu.Unlock()
	return p.Projector.Project(ctx, x, n, d)
}

func (p *countedProjector) SetMethod(m string) error {
	p.method = m
	return p.Projector.SetMethod(m)
}

// viewManager is a manager whose runs' events are recorded and whose
// projections are counted.
func viewManager(t *testing.T, gate chan struct{}, edit func(*runner.Options)) (manager, *counting, func(id string) *recorder) {
	t.Helper()
	c := &counting{n: make(map[string]int)}
	var mu sync.Mutex
	recs := make(map[string]*recorder)
	m := newManager(t, memory.New(), gate, func(o *runner.Options) {
		o.NewProjector = c.factory
		o.NewViewers = func(id string) runner.Viewers {
			mu.Lock()
			defer mu.Unlock()
			recs[id] = &recorder{}
			return recs[id]
		}
		if edit != nil {
			edit(o)
		}
	})
	return m, c, func(id string) *recorder {
		mu.Lock()
		defer mu.Unlock()
		return recs[id]
	}
}

// joinView joins run r's view v from epoch 0.
func joinView(t *testing.T, r *runner.Run, v runner.View) (runner.History, func()) {
	t.Helper()
	var h runner.History
	leave, err := r.Join(context.Background(), 0, v, func(x runner.History) error { h = x; return nil })
	if err != nil {
		t.Fatalf("joining %s: %v", v, err)
	}
	return h, leave
}

// eventually polls ok for 10 s.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestViewOfOnesOwn checks a viewer's own projection of a finished run:
// every epoch projected once in the chosen method and dimensions, sent as
// that view's frames and then its done, the run's own projection and its
// stored frames untouched, and a second viewer served from the cache.
func TestViewOfOnesOwn(t *testing.T) {
	m, count, rec := viewManager(t, nil, nil)
	r, _, err := m.Create(context.Background(), "a", config(4), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	complete(t, r)
	if n := count.get(run.MethodTSNE, 3); n != 0 {
		t.Fatalf("%d t-SNE 3D frames before anyone asked", n)
	}
	tsne3 := runner.View{Method: run.MethodTSNE, Dims: 3}
	h, leave := joinView(t, r, tsne3)
	defer leave()
	if h.Done {
		t.Fatal("a new view of a finished run is done before it is projected")
	}
	events := rec(r.ID())
	eventually(t, "the view's done", func() bool { return len(events.of(runner.EventDone, tsne3)) == 1 })
	var got []int
	for _, e := range events.of(runner.EventFrame, tsne3) {
		if e.Frame.Method != run.MethodTSNE || e.Frame.Dims != 3 || len(e.Frame.Coords) != 3*digits(t).Data.Len() {
			t.Fatalf("epoch %d of the view: %s in %d dimensions, %d values", e.Frame.Epoch, e.Frame.Method, e.Frame.Dims, len(e.Frame.Coords))
		}
		got = append(got, e.Frame.Epoch)
	}
	// The newest epoch first (it is what the viewer looks at), then the rest.
	if !slices.Equal(got, []int{4, 0, 1, 2, 3}) {
		t.Errorf("the view's frames came in epoch order %v, want [4 0 1 2 3]", got)
	}
	if n := count.get(run.MethodTSNE, 3); n != 5 {
		t.Errorf("projected %d t-SNE 3D frames for 5 epochs", n)
	}
	own := history(t, r)
	if own.Summary.Config.Projection != run.MethodPCA || own.Summary.Config.Dims != 2 || own.Frames[0].Dims != 2 {
		t.Errorf("the run's own projection changed: %+v, frame in %d dimensions", own.Summary.Config, own.Frames[0].Dims)
	}

	h2, leave2 := joinView(t, r, tsne3)
	defer leave2()
	if !h2.Done || !slices.Equal(epochsOf(h2.Frames), []int{0, 1, 2, 3, 4}) || h2.Frames[0].Dims != 3 {
		t.Errorf("a second viewer of the view: done %v, epochs %v", h2.Done, epochsOf(h2.Frames))
	}
	if n := count.get(run.MethodTSNE, 3); n != 5 {
		t.Errorf("the second viewer made %d more projections, want none", n-5)
	}

	// A view equal to the run's own is given the stored frames.
	pca2 := runner.View{Method: run.MethodPCA, Dims: 2}
	before := count.get(run.MethodPCA, 2)
	h3, leave3 := joinView(t, r, pca2)
	defer leave3()
	if !slices.Equal(epochsOf(h3.Frames), []int{0, 1, 2, 3, 4}) || count.get(run.MethodPCA, 2) != before {
		t.Errorf("a view equal to the run's own: epochs %v, %d projections", epochsOf(h3.Frames), count.get(run.MethodPCA, 2)-before)
	}
	eventually(t, "done of the view equal to the run's own", func() bool { return len(events.of(runner.EventDone, pca2)) == 1 })

	if _, err := r.Join(context.Background(), 0, runner.View{Method: "isomap", Dims: 2}, func(runner.History) error { return nil }); run.ErrorCode(err) != run.Invalid {
		t.Errorf("an unknown method: %v, want invalid", err)
	}
}

// TestViewWhileTraining checks a view of a run that trains: each new epoch
// is projected for the view too, the run's own frame first, and a viewer
// who leaves stops the view's work.
func TestViewWhileTraining(t *testing.T) {
	gate := make(chan struct{})
	m, count, rec := viewManager(t, gate, nil)
	r, _, err := m.Create(context.Background(), "a", config(3), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, "epoch 0", func(s runner.Summary) bool { return s.Epoch == 0 && s.State == run.Running })
	pca3 := runner.View{Method: run.MethodPCA, Dims: 3}
	_, leave := joinView(t, r, pca3)
	events := rec(r.ID())
	eventually(t, "epoch 0 in the view", func() bool { return len(events.of(runner.EventFrame, pca3)) == 1 })
	gate <- struct{}{}
	eventually(t, "epoch 1 in the view", func() bool { return len(events.of(runner.EventFrame, pca3)) == 2 })
	if f := events.of(runner.EventFrame, pca3)[1]; f.Frame.Epoch != 1 || !f.Live {
		t.Errorf("the view's second frame: epoch %d, live %v", f.Frame.Epoch, f.Live)
	}
	// The run's own frame of epoch 1 came before the view's.
	var order []string
	events.mu.Lock()
	for _, e := range events.events {
		if e.Kind == runner.EventFrame && e.Frame.Epoch == 1 {
			order = append(order, e.View.String())
		}
	}
	events.mu.Unlock()
	if !slices.Equal(order, []string{"", "pca/3"}) {
		t.Errorf("epoch 1's frames came in the order %q, want the run's own first", order)
	}

	leave()
	leave() // twice is once
	gate <- struct{}{}
	waitFor(t, r, "epoch 2", func(s runner.Summary) bool { return s.Epoch == 2 })
	eventually(t, "epoch 2 of the run's own", func() bool {
		for _, e := range events.of(runner.EventFrame, runner.View{}) {
			if e.Frame.Epoch == 2 {
				return true
			}
		}
		return false
	})
	time.Sleep(20 * time.Millisecond)
	if n := count.get(run.MethodPCA, 3); n != 2 {
		t.Errorf("projected %d PCA 3D frames, want 2: nobody watched epoch 2 in 3D", n)
	}
	gate <- struct{}{}
	complete(t, r)
	if len(events.of(runner.EventDone, pca3)) != 0 {
		t.Error("done published for a view nobody watches any more")
	}
	// Back again: the view catches up and completes.
	h, leave := joinView(t, r, pca3)
	defer leave()
	if !slices.Equal(epochsOf(h.Frames), []int{0, 1}) {
		t.Errorf("rejoining: history %v, want [0 1]", epochsOf(h.Frames))
	}
	eventually(t, "the view's done", func() bool { return len(events.of(runner.EventDone, pca3)) == 1 })
	if n := count.get(run.MethodPCA, 3); n != 4 {
		t.Errorf("projected %d PCA 3D frames for 4 epochs", n)
	}
}

// TestViewsShareTheSlots checks that a view of a finished run is projected
// only in a free CPU slot: with the one slot training another run, it
// waits.
func TestViewsShareTheSlots(t *testing.T) {
	gate := make(chan struct{})
	m, count, rec := viewManager(t, gate, func(o *runner.Options) { o.MaxRuns = 1 })
	done, _, err := m.Create(context.Background(), "a", config(1), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	complete(t, done)
	busy, _, err := m.Create(context.Background(), "b", config(3), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, busy, "training", func(s runner.Summary) bool { return s.State == run.Running })
	tsne2 := runner.View{Method: run.MethodTSNE, Dims: 2}
	_, leave := joinView(t, done, tsne2)
	defer leave()
	time.Sleep(50 * time.Millisecond)
	if n := count.get(run.MethodTSNE, 2); n != 0 {
		t.Fatalf("projected %d frames of a view while the only slot trains another run", n)
	}
	for range 3 {
		gate <- struct{}{}
	}
	eventually(t, "the view's done once the slot is free", func() bool { return len(rec(done.ID()).of(runner.EventDone, tsne2)) == 1 })
}

// TestViewsBudgetEvictionAndDelete checks the memory bound of views (one
// past it is refused, with a message), that an idle view is evicted and
// gives its memory back, that switching the run's own projection to a
// view it holds reuses the view's frames, and that deleting the run ends
// its views' streams.
func TestViewsBudgetEvictionAndDelete(t *testing.T) {
	n := digits(t).Data.Len()
	// Room for one 3D view of 3 epochs and no more.
	budget := int64(3*n*3*4 + 3*4096)
	m, count, rec := viewManager(t, nil, func(o *runner.Options) { o.MaxViewBytes = budget })
	r, _, err := m.Create(context.Background(), "a", config(2), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	complete(t, r)
	tsne3 := runner.View{Method: run.MethodTSNE, Dims: 3}
	_, leave := joinView(t, r, tsne3)
	events := rec(r.ID())
	eventually(t, "the view's done", func() bool { return len(events.of(runner.EventDone, tsne3)) == 1 })
	used := m.ViewBytes()
	if used <= 0 || used > budget {
		t.Fatalf("the view holds %d bytes of a budget of %d", used, budget)
	}
	_, err = r.Join(context.Background(), 0, runner.View{Method: run.MethodPCA, Dims: 3}, func(runner.History) error { return nil })
	if run.ErrorCode(err) != run.Unavailable || err.Error() == "" {
		t.Fatalf("a view past the budget: %v, want unavailable", err)
	}

	// The owner switches to the projection the view holds: no work.
	if _, err := r.SetProjection(run.MethodTSNE, 3); err != nil {
		t.Fatal(err)
	}
	h := complete(t, r)
	if !slices.Equal(epochsOf(h.Frames), []int{0, 1, 2}) || h.Frames[0].Method != run.MethodTSNE || h.Frames[0].Dims != 3 {
		t.Fatalf("after the switch: %v in %s %dD", epochsOf(h.Frames), h.Frames[0].Method, h.Frames[0].Dims)
	}
	if got := count.get(run.MethodTSNE, 3); got != 3 {
		t.Errorf("%d t-SNE 3D projections for 3 epochs: the switch projected again", got)
	}

	leave()
	if evicted := runner.Evict(m.Manager, time.Now().Add(-time.Hour)); evicted != 0 || len(r.Views()) != 1 {
		t.Fatalf("a view idle for less than the cutoff was dropped (%d runs evicted, views %v)", evicted, r.Views())
	}
	runner.Evict(m.Manager, time.Now().Add(time.Second))
	if m.ViewBytes() != 0 {
		t.Errorf("%d bytes still reserved after eviction", m.ViewBytes())
	}

	// Deleting the run ends the stream of every view.
	r2, _, err := m.Create(context.Background(), "a", config(1), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	complete(t, r2)
	pca3 := runner.View{Method: run.MethodPCA, Dims: 3}
	_, leave2 := joinView(t, r2, pca3)
	defer leave2()
	if err := m.Delete(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	if len(rec(r2.ID()).of(runner.EventDone, pca3)) != 1 || m.ViewBytes() != 0 {
		t.Errorf("after delete: %d done events for the view, %d bytes reserved", len(rec(r2.ID()).of(runner.EventDone, pca3)), m.ViewBytes())
	}
}

// TestViewStartedFrom checks a view started from another run's layout (a
// comparison's second run): projected in epoch order, its first frame
// started from the other run's frame of that epoch (the column projector
// makes that frame the layout itself), the rest its own; a view from a run
// that does not exist is its own throughout.
func TestViewStartedFrom(t *testing.T) {
	m, _, rec := viewManager(t, nil, nil)
	ctx := context.Background()
	a, _, err := m.Create(ctx, "s", config(3), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	cfgB := config(3)
	cfgB.Seed = 99
	b, _, err := m.Create(ctx, "s", cfgB, digits(t))
	if err != nil {
		t.Fatal(err)
	}
	first := complete(t, a)
	own := complete(t, b)
	v := runner.View{Method: run.MethodPCA, Dims: 2, From: a.ID()}
	_, leave := joinView(t, b, v)
	defer leave()
	events := rec(b.ID())
	eventually(t, "the started view's done", func() bool { return len(events.of(runner.EventDone, v)) == 1 })
	frames := events.of(runner.EventFrame, v)
	var order []int
	for _, e := range frames {
		order = append(order, e.Frame.Epoch)
	}
	if !slices.Equal(order, []int{0, 1, 2, 3}) {
		t.Fatalf("the started view's frames came in order %v, want [0 1 2 3]", order)
	}
	if !slices.Equal(frames[0].Frame.Coords, first.Frames[0].Coords) {
		t.Error("the view's first frame did not start from the other run's layout")
	}
	if !slices.Equal(frames[1].Frame.Coords, own.Frames[1].Coords) || slices.Equal(frames[1].Frame.Coords, first.Frames[1].Coords) {
		t.Error("the view's later frames are not the run's own")
	}

	// From a view of the other run that someone watches (t-SNE here, the
	// other run's own being PCA).
	tsneA := runner.View{Method: run.MethodTSNE, Dims: 2}
	_, leaveA := joinView(t, a, tsneA)
	defer leaveA()
	eventually(t, "the first run's t-SNE view", func() bool { return len(rec(a.ID()).of(runner.EventDone, tsneA)) == 1 })
	aFrames := rec(a.ID()).of(runner.EventFrame, tsneA)
	vt := runner.View{Method: run.MethodTSNE, Dims: 2, From: a.ID()}
	_, leaveT := joinView(t, b, vt)
	defer leaveT()
	eventually(t, "the view started from a watched view", func() bool { return len(events.of(runner.EventDone, vt)) == 1 })
	var aFirst []float32
	for _, e := range aFrames {
		if e.Frame.Epoch == 0 {
			aFirst = e.Frame.Coords
		}
	}
	if f := events.of(runner.EventFrame, vt); len(f) != 4 || !slices.Equal(f[0].Frame.Coords, aFirst) {
		t.Errorf("a view started from the other run's watched view: %d frames, the first its layout: %v", len(f), len(f) > 0 && slices.Equal(f[0].Frame.Coords, aFirst))
	}

	// From a run that does not exist, or has no frame in the projection:
	// the view's own frames.
	firstOf := func(v runner.View) []float32 {
		for _, e := range events.of(runner.EventFrame, v) {
			if e.Frame.Epoch == 0 {
				return e.Frame.Coords
			}
		}
		return nil
	}
	tsne3 := runner.View{Method: run.MethodTSNE, Dims: 3}
	_, leave3 := joinView(t, b, tsne3)
	defer leave3()
	eventually(t, "the run's own 3D view", func() bool { return len(events.of(runner.EventDone, tsne3)) == 1 })
	own3D := firstOf(tsne3)
	for _, tc := range []struct {
		v    runner.View
		want []float32
	}{
		{runner.View{Method: run.MethodPCA, Dims: 2, From: "nosuchrun"}, own.Frames[0].Coords},
		{runner.View{Method: run.MethodTSNE, Dims: 3, From: a.ID()}, own3D},
	} {
		_, leave := joinView(t, b, tc.v)
		defer leave()
		eventually(t, tc.v.String()+"'s done", func() bool { return len(events.of(runner.EventDone, tc.v)) == 1 })
		if first := firstOf(tc.v); len(first) == 0 || !slices.Equal(first, tc.want) {
			t.Errorf("%s: the first frame is not the run's own", tc.v)
		}
	}
	bad := runner.View{Method: run.MethodPCA, Dims: 2, From: "../x"}
	if _, err := b.Join(ctx, 0, bad, func(runner.History) error { return nil }); run.ErrorCode(err) != run.Invalid {
		t.Errorf("a bad run id to start from: %v", err)
	}
}
