package runner_test

import (
	"context"
	"slices"
	"sync"
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
