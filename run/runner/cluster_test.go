package runner_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/natsbus"
	"github.com/contrastive-explorer/explorer/run/natsbus/natstest"
	"github.com/contrastive-explorer/explorer/run/runner"
)

// audience makes a recorder per run and finds it again.
type audience struct{ m sync.Map }

func (a *audience) viewers(id string) runner.Viewers {
	v, _ := a.m.LoadOrStore(id, &recorder{})
	return v.(*recorder)
}

func (a *audience) get(id string) *recorder {
	v, _ := a.m.LoadOrStore(id, &recorder{})
	return v.(*recorder)
}

// replica is a manager among several: on st, with its own connection to
// the NATS server at url.
func replica(t *testing.T, st run.Store, url, name string, gate chan struct{}, edit func(*runner.Options)) manager {
	t.Helper()
	bus, err := natsbus.Connect(context.Background(), url, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return newManager(t, st, gate, func(o *runner.Options) {
		o.Replica, o.Bus, o.MaxRuns = name, bus, 1
		o.HeartbeatEvery, o.HeartbeatTimeout = 50*time.Millisecond, 400*time.Millisecond
		if edit != nil {
			edit(o)
		}
	})
}

// joinAll joins r's own view on its manager, returning its history's
// epochs.
func joinAll(t *testing.T, r *runner.Run) []int {
	t.Helper()
	return epochsOf(history(t, r).Frames)
}

// checkEvery fails unless a viewer's epochs hold 0..last, each once:
// live frames in order, the epochs live frames skipped backfilled after.
func checkEvery(t *testing.T, what string, v *recorder, last int) {
	t.Helper()
	var live, all []int
	for _, e := range v.of(runner.EventFrame, runner.View{}) {
		all = append(all, e.Frame.Epoch)
		if e.Live {
			live = append(live, e.Frame.Epoch)
		}
	}
	if !slices.IsSorted(live) {
		t.Errorf("%s: live frames of epochs %v, out of order", what, live)
	}
	slices.Sort(all)
	checkOnce(t, what+" (sorted)", all, last)
}

// checkOnce fails unless epochs holds 0..last, each once, in order.
func checkOnce(t *testing.T, what string, epochs []int, last int) {
	t.Helper()
	want := make([]int, last+1)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(epochs, want) {
		t.Errorf("%s: epochs %v, want each of 0..%d once in order", what, epochs, last)
	}
}

// TestReplicasShareTheQueue: a run created on a replica that trains
// nothing is claimed and trained by a worker; the first replica's viewer
// gets every epoch's frame once, in order, live from the bus, and its
// controls reach the worker.
func TestReplicasShareTheQueue(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	gate := make(chan struct{})
	worker := replica(t, st, srv.URL(), "worker", gate, nil)
	var seen audience
	web := replica(t, st, srv.URL(), "web", nil, func(o *runner.Options) {
		o.NoTraining = true
		o.NewViewers = seen.viewers
	})

	const epochs = 6
	r, token, err := web.Create(context.Background(), "s", config(epochs), digits(t))
	if err != nil || token == "" {
		t.Fatal(err)
	}
	waitFor(t, r, "the worker to claim it", func(s runner.Summary) bool { return s.State == run.Running })
	rec, _ := st.Run(context.Background(), r.ID())
	if rec.Owner != "worker" {
		t.Errorf("the run is owned by %q, want the worker", rec.Owner)
	}
	if got := joinAll(t, r); len(got) > 1 {
		t.Errorf("history before the second epoch: %v", got)
	}

	// A control on the web replica is applied by the worker.
	s, err := r.Control("pause")
	if err != nil || s.State != run.Paused {
		t.Fatalf("pause through the web replica: %+v %v", s, err)
	}
	w, err := worker.Get(context.Background(), r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Summary().State; got != run.Paused {
		t.Errorf("on the worker the run is %s after the forwarded pause", got)
	}
	waitFor(t, r, "the pause to show on the web replica", func(s runner.Summary) bool { return s.State == run.Paused })
	if wl, vl := worker.Load(), web.Load(); wl.Training != 1 || vl.Training != 0 || vl.Slots != 0 {
		t.Errorf("load while the worker trains the run: worker %+v, web %+v", wl, vl)
	}
	if _, err := r.Control("resume"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rename("from the web replica"); err != nil {
		t.Fatal(err)
	}

	for range epochs {
		gate <- struct{}{}
	}
	h := complete(t, r)
	checkOnce(t, "the web replica's history", epochsOf(h.Frames), epochs)
	checkEvery(t, "the web replica's viewer", seen.get(r.ID()), epochs)
	if h.Summary.State != run.Done || h.Summary.Name != "from the web replica" || h.Summary.Epoch != epochs {
		t.Errorf("the web replica shows %+v", h.Summary)
	}
	rec, _ = st.Run(context.Background(), r.ID())
	if rec.State != run.Done || rec.Name != "from the web replica" {
		t.Errorf("stored: %s %q", rec.State, rec.Name)
	}

	// Deleted on the web replica, the run is gone from the worker too.
	if err := web.Delete(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for worker.Resident() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker still holds the run deleted on the web replica")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkerStopsAndAnotherResumes: a worker that stops mid-run gives its
// run back to the queue; another worker resumes it from its checkpoint,
// and a viewer on a third replica sees every epoch once, in order.
func TestWorkerStopsAndAnotherResumes(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	gate := make(chan struct{})
	first := replica(t, st, srv.URL(), "first", gate, nil)
	var seen audience
	web := replica(t, st, srv.URL(), "web", nil, func(o *runner.Options) {
		o.NoTraining = true
		o.NewViewers = seen.viewers
	})
	const epochs = 8
	r, _, err := web.Create(context.Background(), "s", config(epochs), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		gate <- struct{}{}
	}
	waitFor(t, r, "epoch 3", func(s runner.Summary) bool { return s.Epoch == 3 })
	first.stop()
	waitFor(t, r, "the run to be queued again", func(s runner.Summary) bool { return s.State == run.Queued })

	replica(t, st, srv.URL(), "second", nil, nil)
	h := complete(t, r)
	checkOnce(t, "the web replica's history", epochsOf(h.Frames), epochs)
	checkEvery(t, "the web replica's viewer", seen.get(r.ID()), epochs)
	if rec, _ := st.Run(context.Background(), r.ID()); rec.Owner != "second" || rec.State != run.Done {
		t.Errorf("stored: owner %q state %s, want the second worker's and done", rec.Owner, rec.State)
	}
}

// TestStopFromTheQueue: a run nobody has claimed is stopped by the
// replica that holds it, in the store, and it can no longer be claimed.
func TestStopFromTheQueue(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	web := replica(t, st, srv.URL(), "web", nil, func(o *runner.Options) { o.NoTraining = true })
	r, _, err := web.Create(context.Background(), "s", config(3), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	// Renamed and given another projection while queued: in the store,
	// and at once.
	begin := time.Now()
	if _, err := r.Rename("queued"); err != nil {
		t.Fatal(err)
	}
	if s, err := r.SetProjection(run.MethodUMAP, 3); err != nil || s.Config.Projection != run.MethodUMAP || s.Config.Dims != 3 {
		t.Fatalf("projection of a queued run: %+v %v", s, err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("renaming a queued run took %v", d)
	}
	if rec, _ := st.Run(context.Background(), r.ID()); rec.Name != "queued" || rec.Config.Projection != run.MethodUMAP || rec.Config.Dims != 3 {
		t.Errorf("stored: %q %s/%d", rec.Name, rec.Config.Projection, rec.Config.Dims)
	}
	s, err := web.Stop(r)
	if err != nil || s.State != run.Stopped {
		t.Fatalf("stop of a queued run: %+v %v", s, err)
	}
	complete(t, r)
	if _, err := r.Control("pause"); run.ErrorCode(err) != run.Conflict {
		t.Errorf("pause of the stopped run: %v", err)
	}
	replica(t, st, srv.URL(), "worker", nil, nil)
	time.Sleep(300 * time.Millisecond)
	if rec, _ := st.Run(context.Background(), r.ID()); rec.State != run.Stopped || rec.Owner != "" {
		t.Errorf("the stopped run was claimed: %s %q", rec.State, rec.Owner)
	}
}

// TestSharedQueueBounds: the bounds count every replica's runs.
func TestSharedQueueBounds(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	a := replica(t, st, srv.URL(), "a", nil, func(o *runner.Options) { o.NoTraining, o.MaxPerSession, o.MaxQueued = true, 2, 3 })
	b := replica(t, st, srv.URL(), "b", nil, func(o *runner.Options) { o.NoTraining, o.MaxPerSession, o.MaxQueued = true, 2, 3 })
	for i, m := range []manager{a, b} {
		if _, _, err := m.Create(context.Background(), "s", config(3), digits(t)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if _, _, err := a.Create(context.Background(), "s", config(3), digits(t)); run.ErrorCode(err) != run.TooMany {
		t.Errorf("a third run of the session across replicas: %v, want too many", err)
	}
	if _, _, err := b.Create(context.Background(), "other", config(3), digits(t)); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.Create(context.Background(), "third", config(3), digits(t))
	if run.ErrorCode(err) != run.TooMany {
		t.Errorf("a fourth queued run with MaxQueued 3: %v, want too many", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Load().Queued != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Load().Queued = %d, want the 3 queued on both replicas", a.Load().Queued)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cutOff is a replica's view of a shared store that it cannot reach
// while fail is set: every write, listing and claim fails.
type cutOff struct {
	*memory.Store
	fail atomic.Bool
}

var errCutOff = errors.New("the store does not answer")

func (s *cutOff) err() error {
	if s.fail.Load() {
		return errCutOff
	}
	return nil
}

func (s *cutOff) Heartbeat(ctx context.Context, owner string, at time.Time) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Heartbeat(ctx, owner, at)
}

func (s *cutOff) Runs(ctx context.Context, f run.RunFilter) ([]run.Listing, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.Runs(ctx, f)
}

func (s *cutOff) PutRun(ctx context.Context, rec run.Record) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.PutRun(ctx, rec)
}

func (s *cutOff) PutEpoch(ctx context.Context, id string, e run.EpochRecord) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.PutEpoch(ctx, id, e)
}

func (s *cutOff) PutFrame(ctx context.Context, id string, f run.FrameRecord) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.PutFrame(ctx, id, f)
}

func (s *cutOff) Claim(ctx context.Context, replica string, at, stale time.Time) (run.Record, bool, error) {
	if err := s.err(); err != nil {
		return run.Record{}, false, err
	}
	return s.Store.Claim(ctx, replica, at, stale)
}

func (s *cutOff) Requeue(ctx context.Context, rec run.Record, at time.Time) (bool, error) {
	if err := s.err(); err != nil {
		return false, err
	}
	return s.Store.Requeue(ctx, rec, at)
}

// TestFencedWorkerStops: a worker stops training a run whose record names
// another replica, or once its heartbeats have failed for the timeout,
// and writes nothing more of it; a worker cut off from the store that way
// leaves its run to one that is not, and does not touch it when it can
// reach the store again.
func TestFencedWorkerStops(t *testing.T) {
	for _, how := range []string{"taken", "cut off"} {
		t.Run(how, func(t *testing.T) {
			srv := natstest.Start(t)
			shared := memory.New()
			st := &cutOff{Store: shared}
			gate := make(chan struct{}, 100)
			w := replica(t, st, srv.URL(), "w", gate, nil)
			r, _, err := w.Create(context.Background(), "s", config(50), digits(t))
			if err != nil {
				t.Fatal(err)
			}
			gate <- struct{}{}
			waitFor(t, r, "epoch 1", func(s runner.Summary) bool { return s.Epoch >= 1 && s.State == run.Running })
			ctx := context.Background()
			switch how {
			case "taken":
				rec, _ := shared.Run(ctx, r.ID())
				rec.Owner, rec.Heartbeat = "thief", time.Now().Add(time.Hour)
				if err := shared.PutRun(ctx, rec); err != nil {
					t.Fatal(err)
				}
			case "cut off":
				st.fail.Store(true)
			}
			before, _ := shared.Run(ctx, r.ID())
			time.Sleep(time.Second) // over two sweeps and the 400 ms timeout
			for range 10 {
				gate <- struct{}{}
			}
			time.Sleep(200 * time.Millisecond)
			after, _ := shared.Run(ctx, r.ID())
			if after.State != before.State || after.Owner != before.Owner || !after.Updated.Equal(before.Updated) {
				t.Errorf("the fenced worker wrote the run: %s %q %v, was %s %q %v", after.State, after.Owner, after.Updated, before.State, before.Owner, before.Updated)
			}
			if _, err := shared.Epoch(ctx, r.ID(), 3); err == nil {
				t.Error("the fenced worker stored epochs after it was fenced")
			}
			if w.Load().Slots != 0 {
				t.Errorf("the fenced run still holds a slot: %+v", w.Load())
			}
			if how != "cut off" {
				return
			}
			// Another worker, which reaches the store, takes the run over
			// and trains it to its end; the first, back, leaves it be.
			other := replica(t, shared, srv.URL(), "other", nil, nil)
			o, err := other.Get(ctx, r.ID())
			if err != nil {
				t.Fatal(err)
			}
			complete(t, o)
			st.fail.Store(false)
			time.Sleep(300 * time.Millisecond)
			if rec, _ := shared.Run(ctx, r.ID()); rec.State != run.Done || rec.Owner != "other" {
				t.Errorf("after the takeover the run is %s, owned by %q; want done by the other worker", rec.State, rec.Owner)
			}
		})
	}
}

// TestDeleteWhileTrainingElsewhere: a run deleted through a replica that
// does not train it is deleted by the one that does, which writes nothing
// of it after, so it never comes back.
func TestDeleteWhileTrainingElsewhere(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	gate := make(chan struct{}, 100)
	worker := replica(t, st, srv.URL(), "worker", gate, nil)
	web := replica(t, st, srv.URL(), "web", nil, func(o *runner.Options) { o.NoTraining = true })
	r, _, err := web.Create(context.Background(), "s", config(30), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	waitFor(t, r, "epoch 1 on the web replica", func(s runner.Summary) bool { return s.Epoch >= 1 && s.State == run.Running })
	if err := web.Delete(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		gate <- struct{}{}
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := st.Run(context.Background(), r.ID()); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("after the delete the store has the run: %v", err)
	}
	if n := worker.Resident(); n != 0 {
		t.Errorf("the worker still holds %d runs", n)
	}
	if l := worker.Load(); l.Slots != 0 || l.Training != 0 {
		t.Errorf("the worker's load after the delete: %+v", l)
	}
	if n := web.Resident(); n != 0 {
		t.Errorf("the web replica still holds %d runs", n)
	}
}

// TestNATSRestart: NATS restarts while a worker trains a run that a
// viewer watches on another replica; once both replicas are back, the
// viewer has every epoch, what was missed read back from the store.
func TestNATSRestart(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	gate := make(chan struct{}, 100)
	replica(t, st, srv.URL(), "worker", gate, nil)
	var seen audience
	web := replica(t, st, srv.URL(), "web", nil, func(o *runner.Options) {
		o.NoTraining = true
		o.NewViewers = seen.viewers
	})
	const epochs = 10
	r, _, err := web.Create(context.Background(), "s", config(epochs), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	waitFor(t, r, "epoch 1", func(s runner.Summary) bool { return s.Epoch >= 1 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Restart(t, 300*time.Millisecond)
	}()
	for range 4 { // trained while NATS is down or coming back
		gate <- struct{}{}
		time.Sleep(50 * time.Millisecond)
	}
	<-done
	time.Sleep(time.Second) // both reconnect (every 250 ms)
	for range epochs - 5 {
		gate <- struct{}{}
	}
	h := complete(t, r)
	checkOnce(t, "the web replica's history", epochsOf(h.Frames), epochs)
	checkEvery(t, "the web replica's viewer", seen.get(r.ID()), epochs)
}
