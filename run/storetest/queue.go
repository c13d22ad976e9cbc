package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// Queue is a Store that is also the run queue of replicas sharing it
// (runner.Queue): run/postgres, and run/memory for tests in one process.
type Queue interface {
	run.Store
	Claim(ctx context.Context, replica string, at, stale time.Time) (run.Record, bool, error)
	Requeue(ctx context.Context, rec run.Record, at time.Time) (bool, error)
	Unqueue(ctx context.Context, id string, at, stale time.Time) (bool, error)
	EditQueued(ctx context.Context, id, name string, cfg run.Config, at, stale time.Time) (bool, error)
}

// RunQueue runs the queue's conformance subtests, each on a new, empty
// store from open.
func RunQueue(t *testing.T, open func(t *testing.T) Queue) {
	for _, tt := range []struct {
		name string
		test func(t *testing.T, s Queue)
	}{
		{"ClaimOrder", testClaimOrder},
		{"ClaimConcurrent", testClaimConcurrent},
		{"Requeue", testRequeue},
		{"Unqueue", testUnqueue},
		{"EditQueued", testEditQueued},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.test(t, s)
		})
	}
}

// queued returns a queued record nobody owns, created at base plus minutes.
func queued(id string, minutes int) run.Record {
	rec := record(id, "s-a", minutes)
	rec.State, rec.Owner, rec.Heartbeat = run.Queued, "", time.Time{}
	return rec
}

// claim claims for replica at base plus an hour, with heartbeats older
// than stale dead, failing the test on an error.
func claim(t *testing.T, s Queue, replica string, stale time.Time) (run.Record, bool) {
	t.Helper()
	rec, ok, err := s.Claim(context.Background(), replica, base.Add(time.Hour), stale)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return rec, ok
}

func testClaimOrder(t *testing.T, s Queue) {
	ctx := context.Background()
	old, young := queued("r-old", 0), queued("r-young", 5)
	running := record("r-running", "s-a", -5) // owned and not queued
	held := queued("r-held", -3)              // claimed by a live replica
	held.Owner, held.Heartbeat = "replica-b", base.Add(50*time.Minute)
	dead := queued("r-dead", -2) // claimed by a replica that died
	dead.Owner, dead.Heartbeat = "replica-c", base.Add(10*time.Minute)
	put(t, s, young, running, held, old, dead)
	stale := base.Add(30 * time.Minute)

	var got []string
	for {
		rec, ok := claim(t, s, "replica-a", stale)
		if !ok {
			break
		}
		if rec.Owner != "replica-a" || !sameTime(rec.Heartbeat, base.Add(time.Hour)) || rec.State != run.Queued {
			t.Errorf("claimed %s as owner %q heartbeat %v state %s", rec.ID, rec.Owner, rec.Heartbeat, rec.State)
		}
		got = append(got, rec.ID)
		if len(got) > 5 {
			break
		}
	}
	want := []string{"r-dead", "r-old", "r-young"}
	if len(got) != len(want) {
		t.Fatalf("claimed %v, want %v (oldest first, not the live replica's nor the running run)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("claimed %v, want %v", got, want)
		}
	}
	for _, id := range want {
		rec, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Owner != "replica-a" {
			t.Errorf("%s is owned by %q after the claim, want replica-a", id, rec.Owner)
		}
	}
	if rec, _ := s.Run(ctx, "r-held"); rec.Owner != "replica-b" {
		t.Errorf("the live replica's claim was taken: owner %q", rec.Owner)
	}
}

// testClaimConcurrent claims from many goroutines at once: every queued
// run goes to exactly one of them.
func testClaimConcurrent(t *testing.T, s Queue) {
	const runs, claimers = 24, 6
	for i := range runs {
		put(t, s, queued(string(rune('a'+i))+"-run", i))
	}
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for c := range claimers {
		replica := "replica-" + string(rune('0'+c))
		wg.Go(func() {
			for {
				rec, ok, err := s.Claim(context.Background(), replica, base.Add(time.Hour), base.Add(30*time.Minute))
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := got[rec.ID]; dup {
					t.Errorf("%s claimed by %s and %s", rec.ID, prev, replica)
				}
				got[rec.ID] = replica
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != runs {
		t.Errorf("%d of %d runs were claimed", len(got), runs)
	}
}

func testRequeue(t *testing.T, s Queue) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0))
	rec, err := s.Run(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, rec.Owner, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Requeue(ctx, rec, base.Add(time.Hour)); err != nil || ok {
		t.Fatalf("Requeue of a record whose heartbeat moved on: %v %v, want false", ok, err)
	}
	rec, _ = s.Run(ctx, "r-1")
	if ok, err := s.Requeue(ctx, rec, base.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Requeue of the record as stored: %v %v, want true", ok, err)
	}
	if ok, _ := s.Requeue(ctx, rec, base.Add(time.Hour)); ok {
		t.Error("the same record was requeued twice")
	}
	got, _ := s.Run(ctx, "r-1")
	if got.State != run.Queued || got.Owner != "" || !got.Heartbeat.IsZero() || !sameTime(got.Updated, base.Add(time.Hour)) {
		t.Errorf("requeued: state %s owner %q heartbeat %v updated %v", got.State, got.Owner, got.Heartbeat, got.Updated)
	}
	if c, ok := claim(t, s, "replica-b", base); !ok || c.ID != "r-1" {
		t.Errorf("the requeued run is not claimed: %v %v", c.ID, ok)
	}
	if ok, err := s.Requeue(ctx, record("r-missing", "", 0), base); ok || err != nil && run.ErrorCode(err) != run.NotFound {
		t.Errorf("Requeue of a missing run: %v %v", ok, err)
	}
}

func testUnqueue(t *testing.T, s Queue) {
	ctx := context.Background()
	free, claimed, dead := queued("r-free", 0), queued("r-claimed", 1), queued("r-dead", 3)
	claimed.Owner, claimed.Heartbeat = "replica-b", base.Add(time.Hour)
	dead.Owner, dead.Heartbeat = "replica-c", base.Add(time.Minute) // claimed, then its replica died
	put(t, s, free, claimed, record("r-running", "s-a", 2), dead)
	stale := base.Add(30 * time.Minute)
	for _, tc := range []struct {
		id   string
		want bool
	}{{"r-free", true}, {"r-claimed", false}, {"r-running", false}, {"r-free", false}, {"r-dead", true}} {
		ok, err := s.Unqueue(ctx, tc.id, base.Add(2*time.Hour), stale)
		if err != nil && run.ErrorCode(err) != run.NotFound {
			t.Fatalf("Unqueue(%s): %v", tc.id, err)
		}
		if ok != tc.want {
			t.Errorf("Unqueue(%s) = %v, want %v", tc.id, ok, tc.want)
		}
	}
	if got, _ := s.Run(ctx, "r-free"); got.State != run.Stopped {
		t.Errorf("the unqueued run is %s, want stopped", got.State)
	}
	if got, _ := s.Run(ctx, "r-claimed"); got.State != run.Queued {
		t.Errorf("the claimed run is %s, want still queued", got.State)
	}
}

func testEditQueued(t *testing.T, s Queue) {
	ctx := context.Background()
	free, claimed := queued("r-free", 0), queued("r-claimed", 1)
	claimed.Owner, claimed.Heartbeat = "replica-b", base.Add(time.Hour)
	put(t, s, free, claimed)
	cfg := free.Config
	cfg.Projection, cfg.Dims = run.MethodUMAP, 2
	for _, tc := range []struct {
		id   string
		want bool
	}{{"r-free", true}, {"r-claimed", false}} {
		ok, err := s.EditQueued(ctx, tc.id, "renamed", cfg, base.Add(2*time.Hour), base.Add(30*time.Minute))
		if err != nil || ok != tc.want {
			t.Errorf("EditQueued(%s) = %v %v, want %v", tc.id, ok, err, tc.want)
		}
	}
	got, _ := s.Run(ctx, "r-free")
	want := free
	want.Name, want.Config, want.Updated = "renamed", cfg, base.Add(2*time.Hour)
	checkRecord(t, got, want)
	if got, _ := s.Run(ctx, "r-claimed"); got.Name != claimed.Name {
		t.Errorf("the claimed run was renamed %q", got.Name)
	}
}
