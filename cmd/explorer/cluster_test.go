package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run/natsbus/natstest"
	"github.com/contrastive-explorer/explorer/run/postgres/pgtest"
)

// liveEpochs returns the epochs of a stream's frames in the order they
// came, and which of them were live (not backfilled).
func liveEpochs(msgs [][]byte) (all, live []int) {
	for _, e := range epochMessages(msgs) {
		all = append(all, e.Epoch)
		if !e.Backfill {
			live = append(live, e.Epoch)
		}
	}
	return all, live
}

// TestThreeReplicas is issue 13's proof on real engines: two web replicas
// and a training worker share PostgreSQL and NATS (each explorer in a
// process of its own). A run created on web replica A is trained by the
// worker and watched live on A and on web replica B. The worker is killed
// (SIGKILL) mid-run; a second worker takes the run over from its
// checkpoint once the first's heartbeat is stale, and both viewers see it
// go on to its end: every epoch once, the live ones in order.
func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, NATS and four explorer processes")
	}
	db := pgtest.Start(t).NewDatabase(t)
	nats := natstest.Start(t).URL()
	flags := func(role string) []string {
		return []string{"--store", db, "--nats", nats, "--role", role, "--heartbeat-timeout", "3s"}
	}
	a := startChild(t, t.TempDir(), flags("web")...)
	b := startChild(t, t.TempDir(), flags("web")...)
	w1 := startChild(t, t.TempDir(), flags("worker")...)

	const epochs = 30
	r := a.create(fmt.Sprintf(`{"dataset":"digits","epochs":%d,"batch":32,"hidden":[64],"dim":8,"seed":7}`, epochs))
	watch := func(c *child) chan [][]byte {
		out := make(chan [][]byte, 1)
		go func() { out <- c.streamFor(r.ID, 3*time.Minute) }()
		return out
	}
	onA, onB := watch(a), watch(b)

	a.waitFor(r.ID, func(r runJSON) bool { return r.Epoch >= 3 })
	if got := b.get(r.ID); got.State != "running" && got.State != "paused" {
		t.Errorf("replica B shows the run %s while the worker trains it", got.State)
	}
	if status, body := w1.do("GET", "/", "", ""); status != 404 || !strings.Contains(string(body), "worker") {
		t.Errorf("the worker's home page: %d %s, want a 404 that says it is a worker", status, body)
	}
	w1.kill()
	killedAt := a.get(r.ID).Epoch
	w2 := startChild(t, t.TempDir(), flags("worker")...)

	for name, ch := range map[string]chan [][]byte{"A": onA, "B": onB} {
		msgs := <-ch
		all, live := liveEpochs(msgs)
		if !slices.IsSorted(live) {
			t.Errorf("replica %s: live epochs out of order: %v", name, live)
		}
		sorted := slices.Clone(all)
		slices.Sort(sorted)
		want := make([]int, epochs+1)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(sorted, want) {
			t.Errorf("replica %s streamed epochs %v, want each of 0..%d once", name, all, epochs)
		}
	}
	if got := a.get(r.ID); got.State != "done" || got.Epoch != epochs {
		t.Errorf("after the takeover the run is %+v, want done at epoch %d", got, epochs)
	}
	if killedAt >= epochs {
		t.Errorf("the worker was killed at epoch %d: not mid-run", killedAt)
	}
	if out := w2.out.String(); !strings.Contains(out, "run claimed") || !strings.Contains(out, r.ID) {
		t.Errorf("the second worker's log does not say it claimed the run:\n%s", out)
	}
	if out := a.out.String() + b.out.String() + w2.out.String(); !strings.Contains(out, "its replica stopped") {
		t.Errorf("no replica says it queued the dead worker's run again:\n%s", out)
	}
	// The run's history, read afresh on B, has every epoch once.
	got := epochMetrics(t, b.stream(r.ID))
	if len(got) != epochs+1 {
		t.Errorf("the finished run's history on B has %d epochs, want %d", len(got), epochs+1)
	}
}
