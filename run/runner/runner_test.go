package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/run/runner/runnertest"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// bundled is the Datasets of the tests: the bundled datasets.
type bundled struct{}

func (bundled) Dataset(_ context.Context, id string) (run.Dataset, error) {
	d, err := sampledata.Load(id)
	if err != nil {
		return run.Dataset{}, err
	}
	return run.Dataset{ID: id, Name: id, Info: d.Info(), Data: d}, nil
}

func digits(t testing.TB) run.Dataset {
	t.Helper()
	d, err := bundled{}.Dataset(context.Background(), "digits")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// config is a quick run of the fake trainer on digits.
func config(epochs int) run.Config {
	c := trainer.DefaultConfig()
	c.Dataset, c.Epochs, c.Batch, c.Hidden, c.Dim = "digits", epochs, 64, []int{16}, 4
	return run.Config{Config: c, Projection: run.MethodPCA, Dims: 2}
}

// manager is a Manager of fakes on store, stopped at the end of the test
// (or by calling stop).
type manager struct {
	*runner.Manager
	stop func()
}

func newManager(t *testing.T, store run.Store, gate chan struct{}, edit func(*runner.Options)) manager {
	t.Helper()
	o := runner.Options{
		Store: store, Datasets: bundled{},
		NewTrainer: runnertest.Trainers(gate), RestoreTrainer: runnertest.Restorers(gate),
		NewProjector: runnertest.ColumnProjectors,
		Estimate:     func(trainer.Config, *dataset.Dataset) int64 { return 1 },
		Logger:       slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := runner.New(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			done := make(chan struct{})
			go func() { m.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("runs still running 10 s after the manager stopped")
			}
		})
	}
	t.Cleanup(stop)
	return manager{m, stop}
}

// waitFor polls until the run's summary satisfies ok.
func waitFor(t *testing.T, r *runner.Run, what string, ok func(runner.Summary) bool) runner.Summary {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := r.Summary()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: waited 10 s for %s; it is %+v", r.ID(), what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// complete waits until the run has published done.
func complete(t *testing.T, r *runner.Run) runner.History {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := history(t, r)
		if h.Done {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s not complete after 10 s: %+v", r.ID(), h.Summary)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func history(t *testing.T, r *runner.Run) runner.History {
	t.Helper()
	var h runner.History
	if _, err := r.Join(context.Background(), 0, runner.View{}, func(x runner.History) error { h = x; return nil }); err != nil {
		t.Fatal(err)
	}
	return h
}

func epochsOf(frames []run.FrameRecord) []int {
	var out []int
	for _, f := range frames {
		out = append(out, f.Epoch)
	}
	return out
}

// TestRestartKeepsFinishedRuns checks that a finished run outlives its
// manager: another manager on the same store serves the same frames.
func TestRestartKeepsFinishedRuns(t *testing.T) {
	store := memory.New()
	a := newManager(t, store, nil, nil)
	r, token, err := a.Create(context.Background(), "s1", config(3), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	before := complete(t, r)
	if before.Summary.State != run.Done || !slices.Equal(epochsOf(before.Frames), []int{0, 1, 2, 3}) {
		t.Fatalf("first life: %s with frames %v", before.Summary.State, epochsOf(before.Frames))
	}
	a.stop()

	b := newManager(t, store, nil, nil)
	again, err := b.Get(context.Background(), r.ID())
	if err != nil {
		t.Fatal(err)
	}
	after := complete(t, again)
	if !again.Authorized(token) || again.Authorized("x") {
		t.Error("the token does not survive the restart, or any token works")
	}
	if after.Summary.State != run.Done || after.Summary.Epoch != 3 || after.Summary.Session != "s1" {
		t.Errorf("after restart: %+v", after.Summary)
	}
	if len(after.Frames) != len(before.Frames) {
		t.Fatalf("after restart %d frames, before %d", len(after.Frames), len(before.Frames))
	}
	for i := range after.Frames {
		x, y := after.Frames[i], before.Frames[i]
		if x.Epoch != y.Epoch || !slices.Equal(x.Coords, y.Coords) || !x.Sent.Equal(y.Sent) || string(x.Metrics) != string(y.Metrics) {
			t.Errorf("frame %d differs after the restart", i)
		}
	}
	if _, err := b.Get(context.Background(), "nope"); run.ErrorCode(err) != run.NotFound {
		t.Errorf("unknown run: %v", err)
	}
}

// TestInterruptedRunResumes checks a crash: the run the store says was
// training is marked interrupted by the next manager, and resuming it
// continues from the checkpoint with no epoch missing or twice.
func TestInterruptedRunResumes(t *testing.T) {
	store := memory.New()
	gate := make(chan struct{})
	a := newManager(t, store, gate, nil)
	r, token, err := a.Create(context.Background(), "s1", config(5), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	gate <- struct{}{}
	waitFor(t, r, "epoch 2", func(s runner.Summary) bool { return s.Epoch == 2 })
	a.stop() // the server stops while the run trains

	if rec, err := store.Run(context.Background(), r.ID()); err != nil || rec.State != run.Interrupted {
		t.Fatalf("after shutdown the store says %v %v, want interrupted", rec.State, err)
	}
	// A crash leaves the state as it was: the next manager fixes it.
	rec, _ := store.Run(context.Background(), r.ID())
	rec.State = run.Running
	if err := store.PutRun(context.Background(), rec); err != nil {
		t.Fatal(err)
	}

	free := make(chan struct{})
	close(free)
	b := newManager(t, store, free, nil)
	again, err := b.Get(context.Background(), r.ID())
	if err != nil {
		t.Fatal(err)
	}
	sum := complete(t, again).Summary
	if sum.State != run.Interrupted || !sum.Resumable || sum.Epoch != 2 {
		t.Fatalf("after the crash: %+v, want interrupted and resumable at epoch 2", sum)
	}
	if !again.Authorized(token) {
		t.Fatal("token lost")
	}
	if _, err := again.Control("pause"); run.ErrorCode(err) != run.Conflict {
		t.Errorf("pausing an interrupted run: %v, want a conflict", err)
	}
	if _, err := b.Resume(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	h := complete(t, again)
	if h.Summary.State != run.Done || !slices.Equal(epochsOf(h.Frames), []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("resumed: %s with frames %v", h.Summary.State, epochsOf(h.Frames))
	}
	for e := 3; e <= 5; e++ {
		rec, err := again.Epoch(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		want := runnertest.Embeddings(config(5).Config, digits(t).Data.Len(), e)
		if !slices.Equal(rec.Embeddings, want) {
			t.Errorf("epoch %d after resuming is not the uninterrupted run's", e)
		}
	}
	if _, err := b.Resume(context.Background(), again); run.ErrorCode(err) != run.Conflict {
		t.Errorf("resuming a finished run: %v, want a conflict", err)
	}
}

// TestBounds checks the queue, per-session and memory bounds.
func TestBounds(t *testing.T) {
	gate := make(chan struct{})
	m := newManager(t, memory.New(), gate, func(o *runner.Options) {
		o.MaxRuns, o.MaxQueued, o.MaxPerSession = 1, 1, 2
		o.MaxRunBytes = 1000
		o.Estimate = func(c trainer.Config, _ *dataset.Dataset) int64 { return int64(c.Batch) * 10 }
	})
	ctx, ds := context.Background(), digits(t)
	if _, _, err := m.Create(ctx, "a", config(2), ds); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Create(ctx, "a", config(2), ds); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Create(ctx, "a", config(2), ds); run.ErrorCode(err) != run.TooMany {
		t.Errorf("a third unfinished run of one session: %v, want too many", err)
	}
	if _, _, err := m.Create(ctx, "b", config(2), ds); run.ErrorCode(err) != run.TooMany {
		t.Errorf("a second queued run: %v, want too many", err)
	}
	big := config(2)
	big.Batch = 512
	var re *run.Error
	if _, _, err := m.Create(ctx, "c", big, ds); !errors.As(err, &re) || re.Code != run.Invalid || re.Field != "batch" {
		t.Errorf("a run over the memory bound: %v, want invalid naming batch", err)
	}
	bad := config(2)
	bad.Dims = 4
	if _, _, err := m.Create(ctx, "c", bad, ds); !errors.As(err, &re) || re.Field != "dims" {
		t.Errorf("4 dimensions: %v", err)
	}
}

// TestProjectionTakesASlot checks that re-projecting a finished run waits
// for a CPU slot while every slot trains.
func TestProjectionTakesASlot(t *testing.T) {
	gate := make(chan struct{})
	m := newManager(t, memory.New(), gate, func(o *runner.Options) { o.MaxRuns = 1 })
	ctx, ds := context.Background(), digits(t)
	done, _, err := m.Create(ctx, "a", config(1), ds)
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	complete(t, done)
	busy, _, err := m.Create(ctx, "a", config(3), ds)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, busy, "training", func(s runner.Summary) bool { return s.State == run.Running })
	if _, err := done.SetProjection(run.MethodTSNE, 3); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if h := history(t, done); h.Done || h.Frames[0].Dims != 2 {
		t.Fatalf("the finished run re-projected while the only slot trains: done %v, dims %d", h.Done, h.Frames[0].Dims)
	}
	for range 3 {
		gate <- struct{}{}
	}
	h := complete(t, done)
	if h.Frames[0].Dims != 3 || h.Frames[0].Method != run.MethodTSNE {
		t.Errorf("after the slot came free: %s in %d dimensions", h.Frames[0].Method, h.Frames[0].Dims)
	}
}

// TestEvictAndDelete checks that a finished run nobody watches leaves
// memory but not the store, and that Delete removes it from both.
func TestEvictAndDelete(t *testing.T) {
	store := memory.New()
	m := newManager(t, store, nil, nil)
	ctx := context.Background()
	r, _, err := m.Create(ctx, "a", config(1), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	complete(t, r)
	if n := runner.Evict(m.Manager, time.Now().Add(time.Second)); n != 1 || m.Resident() != 0 {
		t.Fatalf("evicted %d, %d resident", n, m.Resident())
	}
	again, err := m.Get(ctx, r.ID())
	if err != nil || again == r {
		t.Fatalf("rebuilt %p from %p: %v", again, r, err)
	}
	list, err := m.List(ctx, "a", 0)
	if err != nil || len(list) != 1 || list[0].ID != r.ID() || list[0].Epoch != 1 || list[0].Metrics == nil {
		t.Fatalf("list %+v %v", list, err)
	}
	if other, _ := m.List(ctx, "b", 0); len(other) != 0 {
		t.Errorf("another session lists %d runs", len(other))
	}
	if err := m.Delete(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, r.ID()); run.ErrorCode(err) != run.NotFound {
		t.Errorf("deleted run: %v", err)
	}
	if _, err := store.Frames(ctx, r.ID(), 0); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("deleted run's frames: %v", err)
	}
}

// TestCompleteRunTrimsItsProjector checks that a run keeps its projector's
// state while it trains and lets it go once it has nothing more to project,
// and again after a change of projection has been projected.
func TestCompleteRunTrimsItsProjector(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var made []*runnertest.ColumnProjector
	m := newManager(t, memory.New(), gate, func(o *runner.Options) {
		o.NewProjector = func(method string, dims int, seed uint64) (runner.Projector, error) {
			p, err := runnertest.ColumnProjectors(method, dims, seed)
			mu.Lock()
			made = append(made, p.(*runnertest.ColumnProjector))
			mu.Unlock()
			return p, err
		}
	})
	r, _, err := m.Create(context.Background(), "a", config(2), digits(t))
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	waitFor(t, r, "epoch 1", func(s runner.Summary) bool { return s.Epoch >= 1 })
	trims := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range made {
			n += p.Trimmed()
		}
		return n
	}
	if n := trims(); n != 0 {
		t.Fatalf("trimmed %d times while training", n)
	}
	gate <- struct{}{}
	complete(t, r)
	if n := trims(); n != 1 {
		t.Fatalf("trimmed %d times once complete, want 1", n)
	}
	if _, err := r.SetProjection(run.MethodTSNE, 2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for trims() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if h := history(t, r); trims() != 2 || h.Frames[0].Method != run.MethodTSNE {
		t.Errorf("after re-projecting: trimmed %d times, method %s", trims(), h.Frames[0].Method)
	}
}

// TestReplicasLeaveEachOthersRuns: a replica starting on a shared store
// interrupts its own unfinished runs (from before its restart), nobody's,
// and those of replicas whose heartbeat is old, but leaves a live
// replica's; once that replica stops heartbeating, the sweep interrupts
// its runs too; a replica's own runs get its heartbeat.
func TestReplicasLeaveEachOthersRuns(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	now := time.Now()
	rec := func(id, owner string, beat time.Time) run.Record {
		return run.Record{ID: id, Session: "s", State: run.Running, Config: config(2), Created: now, Updated: now, Owner: owner, Heartbeat: beat}
	}
	for _, r := range []run.Record{
		rec("mine", "b", now), rec("nobodys", "", time.Time{}),
		rec("dead", "a", now.Add(-time.Hour)), rec("alive", "a", now),
	} {
		if err := st.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	state := func(id string) run.State {
		r, err := st.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.State
	}
	newManager(t, st, nil, func(o *runner.Options) {
		o.Replica, o.HeartbeatEvery, o.HeartbeatTimeout = "b", 20*time.Millisecond, 300*time.Millisecond
	})
	for id, want := range map[string]run.State{"mine": run.Interrupted, "nobodys": run.Interrupted, "dead": run.Interrupted, "alive": run.Running} {
		if got := state(id); got != want {
			t.Errorf("after replica b started, run %s is %s, want %s", id, got, want)
		}
	}
	// Replica a never heartbeats again: within a few sweeps its run goes.
	deadline := time.Now().Add(5 * time.Second)
	for state("alive") != run.Interrupted {
		if time.Now().After(deadline) {
			t.Fatal("the run of a replica that stopped heartbeating is still running after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// b's own unfinished run is heartbeated.
	if err := st.PutRun(ctx, rec("b-run", "b", now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		r, _ := st.Run(ctx, "b-run")
		if r.Heartbeat.After(now) && r.State == run.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica b's run: %+v, want a fresh heartbeat and still running", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
