// Package storetest checks that an implementation of run.Store keeps the
// interface's promises: every record round trips, lists are ordered and
// filtered as documented, deletes cascade, missing things are
// run.ErrNotFound, and concurrent use is safe (run it under -race). Every
// implementation's tests call Run:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) run.Store { return memory.New() })
//	}
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Run runs the conformance subtests, each on a new, empty store from open,
// which it closes when the subtest ends. open may call t.Fatal when it
// cannot make a store, and registers with t.Cleanup whatever it must remove
// after the store is closed (t.TempDir does).
func Run(t *testing.T, open func(t *testing.T) run.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s run.Store)
	}{
		{"RunRoundTrip", testRunRoundTrip},
		{"PutRunReplaces", testPutRunReplaces},
		{"Heartbeat", testHeartbeat},
		{"NotFound", testNotFound},
		{"WritesForUnknownRun", testWritesForUnknownRun},
		{"RunsOrder", testRunsOrder},
		{"RunsSession", testRunsSession},
		{"RunsStatesAndLimit", testRunsStatesAndLimit},
		{"RunsProgress", testRunsProgress},
		{"DeleteRun", testDeleteRun},
		{"EpochRoundTrip", testEpochRoundTrip},
		{"EpochReplaces", testEpochReplaces},
		{"Checkpoint", testCheckpoint},
		{"Frames", testFrames},
		{"FrameReplaces", testFrameReplaces},
		{"Uploads", testUploads},
		{"CanceledContext", testCanceledContext},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.test(t, s)
		})
	}
}

// base is the Created time of the records the tests make: a zone other
// than UTC and nanoseconds, which a store may drop below a millisecond.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// record returns a run record with every field set, created at base plus
// minutes.
func record(id, session string, minutes int) run.Record {
	created := base.Add(time.Duration(minutes) * time.Minute)
	cfg := trainer.DefaultConfig()
	cfg.Dataset = "digits"
	cfg.Hidden = []int{64, 32}
	cfg.LR = 0.1 + 1e-9 // not a round number: JSON must keep every digit
	cfg.AugNoise = 0.25
	return run.Record{
		ID:        id,
		TokenHash: [32]byte{0: 1, 15: 0xfe, 31: 0xff},
		Session:   session,
		Name:      "run " + id,
		Config:    run.Config{Config: cfg, Projection: run.MethodTSNE, Dims: 3},
		State:     run.Running,
		Error:     "",
		Created:   created,
		Updated:   created.Add(1500 * time.Millisecond),
		Owner:     "replica-a",
		Heartbeat: created.Add(2 * time.Second),
	}
}

// put stores recs, failing the test on an error.
func put(t *testing.T, s run.Store, recs ...run.Record) {
	t.Helper()
	for _, rec := range recs {
		if err := s.PutRun(context.Background(), rec); err != nil {
			t.Fatalf("PutRun(%s): %v", rec.ID, err)
		}
	}
}

// putEpoch stores e for run id, failing the test on an error.
func putEpoch(t *testing.T, s run.Store, id string, e run.EpochRecord) {
	t.Helper()
	if err := s.PutEpoch(context.Background(), id, e); err != nil {
		t.Fatalf("PutEpoch(%s, %d): %v", id, e.Epoch, err)
	}
}

// putFrame stores f for run id, failing the test on an error.
func putFrame(t *testing.T, s run.Store, id string, f run.FrameRecord) {
	t.Helper()
	if err := s.PutFrame(context.Background(), id, f); err != nil {
		t.Fatalf("PutFrame(%s, %d): %v", id, f.Epoch, err)
	}
}

// sameTime reports whether a and b are the same instant to the
// millisecond, the precision stores must keep at least.
func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

// checkRecord fails the test unless got equals want, times to the
// millisecond.
func checkRecord(t *testing.T, got, want run.Record) {
	t.Helper()
	if !sameTime(got.Created, want.Created) || !sameTime(got.Updated, want.Updated) {
		t.Errorf("run %s: created, updated = %v, %v; want %v, %v", want.ID, got.Created, got.Updated, want.Created, want.Updated)
	}
	if !sameTime(got.Heartbeat, want.Heartbeat) || got.Heartbeat.IsZero() != want.Heartbeat.IsZero() {
		t.Errorf("run %s: heartbeat = %v, want %v", want.ID, got.Heartbeat, want.Heartbeat)
	}
	got.Created, got.Updated, got.Heartbeat = want.Created, want.Updated, want.Heartbeat
	if !reflect.DeepEqual(got, want) {
		t.Errorf("run %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

// checkNotFound fails the test unless err wraps run.ErrNotFound.
func checkNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, run.ErrNotFound) {
		t.Errorf("%s: error %v, want one wrapping run.ErrNotFound", what, err)
	}
}

// checkRunMissing fails the test unless every lookup of run id is
// run.ErrNotFound.
func checkRunMissing(t *testing.T, s run.Store, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Run(ctx, id)
	checkNotFound(t, "Run", err)
	_, err = s.Epoch(ctx, id, 0)
	checkNotFound(t, "Epoch", err)
	_, _, err = s.Checkpoint(ctx, id)
	checkNotFound(t, "Checkpoint", err)
	_, err = s.Frames(ctx, id, 0)
	checkNotFound(t, "Frames", err)
}

// ids returns the IDs of list, in order.
func ids(list []run.Listing) []string {
	out := make([]string, len(list))
	for i, l := range list {
		out[i] = l.ID
	}
	return out
}

// listIDs lists the runs f keeps and returns their IDs.
func listIDs(t *testing.T, s run.Store, f run.RunFilter) []string {
	t.Helper()
	list, err := s.Runs(context.Background(), f)
	if err != nil {
		t.Fatalf("Runs(%+v): %v", f, err)
	}
	return ids(list)
}

// randomFloats returns n values spread over many binades, both signs, and
// the extremes float32 has (infinities, subnormals, the largest finite),
// never NaN.
func randomFloats(rng *rand.Rand, n int) []float32 {
	special := []float32{0, 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -3e-39}
	x := make([]float32, n)
	for i := range x {
		switch {
		case i < len(special):
			x[i] = special[i]
		case i%7 == 0:
			// Any bit pattern but NaN's.
			for {
				v := math.Float32frombits(rng.Uint32())
				if v == v {
					x[i] = v
					break
				}
			}
		default:
			x[i] = float32(rng.NormFloat64() * 0.3)
		}
	}
	return x
}

// checkFloats fails the test unless got and want hold the same bits.
func checkFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			return
		}
	}
}

// metrics returns an epoch's metrics as the wire protocol encodes them.
func metrics(epoch int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"epoch":%d,"loss":%g,"knn":0.93}`, epoch, 1/float64(epoch+1)))
}

func testRunRoundTrip(t *testing.T, s run.Store) {
	ctx := context.Background()
	recs := []run.Record{record("r-1", "s-a", 0), record("r-2", "", 1)}
	recs[1].State, recs[1].Error, recs[1].Name = run.Failed, "the loss became NaN", ""
	recs[1].Config.Hidden = nil
	recs[1].Config.Projection, recs[1].Config.Dims = run.MethodPCA, 2
	put(t, s, recs...)
	for _, want := range recs {
		got, err := s.Run(ctx, want.ID)
		if err != nil {
			t.Fatalf("Run(%s): %v", want.ID, err)
		}
		checkRecord(t, got, want)
	}
}

func testPutRunReplaces(t *testing.T, s run.Store) {
	ctx := context.Background()
	rec := record("r-1", "s-a", 0)
	put(t, s, rec)
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 0, Metrics: metrics(0), Embeddings: []float32{1, 2}, Dim: 2, Checkpoint: []byte("cp")})
	putFrame(t, s, "r-1", run.FrameRecord{Epoch: 0, Method: run.MethodPCA, Dims: 2, Coords: []float32{3, 4}})
	if err := s.ShareRun(ctx, "r-1", "s-b"); err != nil {
		t.Fatal(err)
	}

	rec.State, rec.Name, rec.Updated = run.Done, "renamed", rec.Updated.Add(time.Hour)
	put(t, s, rec)
	got, err := s.Run(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, got, rec)
	// Replacing the record keeps what hangs off it.
	if _, err := s.Epoch(ctx, "r-1", 0); err != nil {
		t.Errorf("epoch after PutRun: %v", err)
	}
	if _, _, err := s.Checkpoint(ctx, "r-1"); err != nil {
		t.Errorf("checkpoint after PutRun: %v", err)
	}
	if frames, err := s.Frames(ctx, "r-1", 0); err != nil || len(frames) != 1 {
		t.Errorf("frames after PutRun: %d, %v; want 1", len(frames), err)
	}
	if got := listIDs(t, s, run.RunFilter{Session: "s-b"}); !slices.Equal(got, []string{"r-1"}) {
		t.Errorf("shared runs after PutRun: %v, want [r-1]", got)
	}
}

// testHeartbeat: a heartbeat reaches the owner's runs that have not
// ended, and no others; a run without owner or heartbeat round trips so.
func testHeartbeat(t *testing.T, s run.Store) {
	ctx := context.Background()
	mine, ended, other, none := record("r-1", "s-a", 0), record("r-2", "s-a", 1), record("r-3", "s-a", 2), record("r-4", "s-a", 3)
	ended.State = run.Done
	other.Owner = "replica-b"
	none.Owner, none.Heartbeat = "", time.Time{}
	put(t, s, mine, ended, other, none)
	at := base.Add(time.Hour)
	if err := s.Heartbeat(ctx, "replica-a", at); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "replica-z", at); err != nil {
		t.Errorf("a heartbeat of a replica owning nothing: %v", err)
	}
	for _, tc := range []struct {
		rec  run.Record
		want time.Time
	}{{mine, at}, {ended, ended.Heartbeat}, {other, other.Heartbeat}, {none, time.Time{}}} {
		got, err := s.Run(ctx, tc.rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		tc.rec.Heartbeat = tc.want
		checkRecord(t, got, tc.rec)
	}
}

func testNotFound(t *testing.T, s run.Store) {
	ctx := context.Background()
	checkRunMissing(t, s, "r-missing")
	_, err := s.Upload(ctx, "u-0000000000000000")
	checkNotFound(t, "Upload", err)

	put(t, s, record("r-1", "s-a", 0))
	_, err = s.Epoch(ctx, "r-1", 0)
	checkNotFound(t, "Epoch that was never put", err)
	_, _, err = s.Checkpoint(ctx, "r-1")
	checkNotFound(t, "Checkpoint of a run without one", err)
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 1, Metrics: metrics(1)})
	_, err = s.Epoch(ctx, "r-1", 0)
	checkNotFound(t, "Epoch 0 when only 1 was put", err)
	_, _, err = s.Checkpoint(ctx, "r-1")
	checkNotFound(t, "Checkpoint after an epoch without one", err)
	frames, err := s.Frames(ctx, "r-1", 0)
	if err != nil || len(frames) != 0 {
		t.Errorf("Frames of a run without frames = %d frames, %v; want none, nil", len(frames), err)
	}
	list, err := s.Runs(ctx, run.RunFilter{Session: "s-nobody"})
	if err != nil || len(list) != 0 {
		t.Errorf("Runs of a session without runs = %v, %v; want none, nil", ids(list), err)
	}
}

func testWritesForUnknownRun(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0))
	checkNotFound(t, "PutEpoch", s.PutEpoch(ctx, "r-missing", run.EpochRecord{Epoch: 0, Metrics: metrics(0)}))
	checkNotFound(t, "PutEpoch with checkpoint", s.PutEpoch(ctx, "r-missing", run.EpochRecord{Epoch: 0, Checkpoint: []byte{1}}))
	checkNotFound(t, "PutFrame", s.PutFrame(ctx, "r-missing", run.FrameRecord{Epoch: 0, Method: run.MethodPCA, Dims: 2}))
	checkNotFound(t, "ShareRun", s.ShareRun(ctx, "r-missing", "s-a"))
	checkNotFound(t, "DeleteRun", s.DeleteRun(ctx, "r-missing"))
	checkNotFound(t, "DeleteUpload", s.DeleteUpload(ctx, "u-0000000000000000"))
	// None of them created anything.
	if got := listIDs(t, s, run.RunFilter{}); !slices.Equal(got, []string{"r-1"}) {
		t.Errorf("runs = %v, want [r-1]", got)
	}
	_, err := s.Run(ctx, "r-missing")
	checkNotFound(t, "Run after the failed writes", err)
}

func testRunsOrder(t *testing.T, s run.Store) {
	// r-c and r-d share their Created time: the higher ID comes first.
	recs := map[string]run.Record{}
	for _, rec := range []run.Record{record("r-a", "s-a", 0), record("r-e", "s-a", -5), record("r-c", "s-a", 10),
		record("r-d", "s-b", 10), record("r-b", "", 20)} {
		put(t, s, rec)
		recs[rec.ID] = rec
	}
	want := []string{"r-b", "r-d", "r-c", "r-a", "r-e"}
	if got := listIDs(t, s, run.RunFilter{}); !slices.Equal(got, want) {
		t.Errorf("Runs = %v, want %v", got, want)
	}
	list, err := s.Runs(context.Background(), run.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		checkRecord(t, l.Record, recs[l.ID])
		if l.Shared {
			t.Errorf("run %s listed as shared without a session filter", l.ID)
		}
	}
}

func testRunsSession(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-a1", "s-a", 0), record("r-a2", "s-a", 2), record("r-b1", "s-b", 1),
		record("r-b2", "s-b", 3), record("r-cli", "", 4))
	for _, share := range []struct{ id, session string }{
		{"r-b1", "s-a"}, {"r-b1", "s-a"}, // twice: listed once
		{"r-a1", "s-a"}, // with its creator: nothing
		{"r-cli", "s-a"},
		{"r-a2", "s-c"},
	} {
		if err := s.ShareRun(ctx, share.id, share.session); err != nil {
			t.Fatalf("ShareRun(%s, %s): %v", share.id, share.session, err)
		}
	}
	tests := []struct {
		session string
		want    []string
		shared  []string
	}{
		{"s-a", []string{"r-cli", "r-a2", "r-b1", "r-a1"}, []string{"r-cli", "r-b1"}},
		{"s-b", []string{"r-b2", "r-b1"}, nil},
		{"s-c", []string{"r-a2"}, []string{"r-a2"}},
		{"s-d", nil, nil},
		{"", []string{"r-cli", "r-b2", "r-a2", "r-b1", "r-a1"}, nil},
	}
	for _, tt := range tests {
		list, err := s.Runs(ctx, run.RunFilter{Session: tt.session})
		if err != nil {
			t.Fatalf("Runs(session %q): %v", tt.session, err)
		}
		var shared []string
		for _, l := range list {
			if l.Shared {
				shared = append(shared, l.ID)
			}
		}
		if got := ids(list); !slices.Equal(got, tt.want) || !slices.Equal(shared, tt.shared) {
			t.Errorf("Runs(session %q) = %v, shared %v; want %v, shared %v", tt.session, got, shared, tt.want, tt.shared)
		}
	}
}

func testRunsStatesAndLimit(t *testing.T, s run.Store) {
	states := []run.State{run.Queued, run.Running, run.Done, run.Failed, run.Done, run.Interrupted}
	for i, st := range states {
		rec := record(fmt.Sprintf("r-%d", i), "s-a", i)
		if i%2 == 1 {
			rec.Session = "s-b"
		}
		rec.State = st
		put(t, s, rec)
	}
	tests := []struct {
		f    run.RunFilter
		want []string
	}{
		{run.RunFilter{States: []run.State{run.Done}}, []string{"r-4", "r-2"}},
		{run.RunFilter{States: []run.State{run.Queued, run.Interrupted}}, []string{"r-5", "r-0"}},
		{run.RunFilter{States: []run.State{run.Stopped}}, nil},
		{run.RunFilter{Session: "s-b", States: []run.State{run.Running, run.Interrupted, run.Done}}, []string{"r-5", "r-1"}},
		{run.RunFilter{Limit: 2}, []string{"r-5", "r-4"}},
		{run.RunFilter{Limit: 10}, []string{"r-5", "r-4", "r-3", "r-2", "r-1", "r-0"}},
		{run.RunFilter{Session: "s-a", Limit: 2}, []string{"r-4", "r-2"}},
		{run.RunFilter{Session: "s-a", States: []run.State{run.Done, run.Queued}, Limit: 1}, []string{"r-4"}},
	}
	for _, tt := range tests {
		if got := listIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("Runs(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func testRunsProgress(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0), record("r-2", "s-a", 1))
	progress := func() map[string]run.Listing {
		t.Helper()
		list, err := s.Runs(ctx, run.RunFilter{Session: "s-a"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]run.Listing{}
		for _, l := range list {
			m[l.ID] = l
		}
		return m
	}
	for id, l := range progress() {
		if l.Epoch != -1 || l.Metrics != nil {
			t.Errorf("run %s without epochs: epoch %d, metrics %s; want -1, nil", id, l.Epoch, l.Metrics)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, e := range []int{0, 2, 1} {
		putEpoch(t, s, "r-1", run.EpochRecord{Epoch: e, Metrics: metrics(e), Embeddings: randomFloats(rng, 64), Dim: 4})
	}
	putEpoch(t, s, "r-2", run.EpochRecord{Epoch: 0, Metrics: metrics(0), Dim: 4, Checkpoint: []byte("cp")})
	m := progress()
	if l := m["r-1"]; l.Epoch != 2 || !bytes.Equal(l.Metrics, metrics(2)) {
		t.Errorf("run r-1: epoch %d, metrics %s; want 2, %s", l.Epoch, l.Metrics, metrics(2))
	}
	if l := m["r-2"]; l.Epoch != 0 || !bytes.Equal(l.Metrics, metrics(0)) {
		t.Errorf("run r-2: epoch %d, metrics %s; want 0, %s", l.Epoch, l.Metrics, metrics(0))
	}
	// Replacing the newest epoch changes the listing's metrics.
	newer := json.RawMessage(`{"epoch":2,"loss":0.01}`)
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 2, Metrics: newer, Dim: 4})
	if l := progress()["r-1"]; l.Epoch != 2 || !bytes.Equal(l.Metrics, newer) {
		t.Errorf("run r-1 after replacing epoch 2: epoch %d, metrics %s; want 2, %s", l.Epoch, l.Metrics, newer)
	}
}

func testDeleteRun(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0), record("r-2", "s-a", 1))
	for _, id := range []string{"r-1", "r-2"} {
		putEpoch(t, s, id, run.EpochRecord{Epoch: 0, Metrics: metrics(0), Embeddings: []float32{1, 2}, Dim: 2, Checkpoint: []byte(id)})
		putFrame(t, s, id, run.FrameRecord{Epoch: 0, Method: run.MethodPCA, Dims: 2, Coords: []float32{1, 2}})
		if err := s.ShareRun(ctx, id, "s-b"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteRun(ctx, "r-1"); err != nil {
		t.Fatalf("DeleteRun: %v", err)
	}
	checkRunMissing(t, s, "r-1")
	checkNotFound(t, "DeleteRun twice", s.DeleteRun(ctx, "r-1"))
	for _, session := range []string{"", "s-a", "s-b"} {
		if got := listIDs(t, s, run.RunFilter{Session: session}); !slices.Equal(got, []string{"r-2"}) {
			t.Errorf("Runs(session %q) after DeleteRun = %v, want [r-2]", session, got)
		}
	}

	// A run made again under the deleted one's ID starts empty.
	put(t, s, record("r-1", "s-a", 2))
	_, err := s.Epoch(ctx, "r-1", 0)
	checkNotFound(t, "Epoch of a run made again", err)
	_, _, err = s.Checkpoint(ctx, "r-1")
	checkNotFound(t, "Checkpoint of a run made again", err)
	if frames, err := s.Frames(ctx, "r-1", 0); err != nil || len(frames) != 0 {
		t.Errorf("Frames of a run made again = %d frames, %v; want none", len(frames), err)
	}
	if got := listIDs(t, s, run.RunFilter{Session: "s-b"}); !slices.Equal(got, []string{"r-2"}) {
		t.Errorf("runs shared with s-b after making r-1 again = %v, want [r-2]", got)
	}
	// The other run kept everything.
	if _, err := s.Epoch(ctx, "r-2", 0); err != nil {
		t.Errorf("Epoch of the run not deleted: %v", err)
	}
	if _, cp, err := s.Checkpoint(ctx, "r-2"); err != nil || string(cp) != "r-2" {
		t.Errorf("Checkpoint of the run not deleted = %q, %v", cp, err)
	}
}

func testEpochRoundTrip(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0))
	rng := rand.New(rand.NewPCG(3, 4))
	const n, dim = 10000, 32
	epochs := []run.EpochRecord{
		{Epoch: 0, Metrics: metrics(0), Embeddings: randomFloats(rng, n*dim), Dim: dim, Checkpoint: []byte("state after 0")},
		{Epoch: 1, Metrics: metrics(1), Embeddings: randomFloats(rng, 5*3), Dim: 3, Pairs: []run.PairRecord{
			{A: 1, B: 4, Positive: true, Distance: 0.25, ViewA: []byte{0, 128, 255}, ViewB: []byte{255, 0, 7}},
			{A: 2, B: 3, Distance: 1.5, TextA: "a <word>", TextB: "its definition"},
		}},
		{Epoch: 7, Metrics: nil, Embeddings: nil, Dim: 16}, // no items
	}
	for _, e := range epochs {
		putEpoch(t, s, "r-1", e)
	}
	for _, want := range epochs {
		got, err := s.Epoch(ctx, "r-1", want.Epoch)
		if err != nil {
			t.Fatalf("Epoch(%d): %v", want.Epoch, err)
		}
		if got.Epoch != want.Epoch || got.Dim != want.Dim || !bytes.Equal(got.Metrics, want.Metrics) || got.Checkpoint != nil {
			t.Errorf("Epoch(%d) = epoch %d, dim %d, metrics %s, checkpoint %q; want %d, %d, %s, nil",
				want.Epoch, got.Epoch, got.Dim, got.Metrics, got.Checkpoint, want.Epoch, want.Dim, want.Metrics)
		}
		checkFloats(t, fmt.Sprintf("epoch %d embeddings", want.Epoch), got.Embeddings, want.Embeddings)
		if !reflect.DeepEqual(got.Pairs, want.Pairs) {
			t.Errorf("Epoch(%d) pairs = %+v, want %+v", want.Epoch, got.Pairs, want.Pairs)
		}
	}
}

func testEpochReplaces(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0))
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 3, Metrics: metrics(3), Embeddings: []float32{1, 2, 3, 4}, Dim: 2})
	want := run.EpochRecord{Epoch: 3, Metrics: json.RawMessage(`{"loss":0.5}`), Embeddings: []float32{5, 6, 7}, Dim: 3}
	putEpoch(t, s, "r-1", want)
	got, err := s.Epoch(ctx, "r-1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dim != 3 || !bytes.Equal(got.Metrics, want.Metrics) {
		t.Errorf("replaced epoch: dim %d, metrics %s; want 3, %s", got.Dim, got.Metrics, want.Metrics)
	}
	checkFloats(t, "replaced epoch", got.Embeddings, want.Embeddings)
}

func testCheckpoint(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0), record("r-2", "s-a", 1))
	check := func(wantEpoch int, want string) {
		t.Helper()
		e, cp, err := s.Checkpoint(ctx, "r-1")
		if err != nil || e != wantEpoch || string(cp) != want {
			t.Errorf("Checkpoint = %d, %q, %v; want %d, %q", e, cp, err, wantEpoch, want)
		}
	}
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18) // 1 MiB with zero bytes in it
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 0, Metrics: metrics(0)})
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 1, Metrics: metrics(1), Checkpoint: []byte("one")})
	check(1, "one")
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 2, Metrics: metrics(2)})
	check(1, "one")
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 3, Metrics: metrics(3), Checkpoint: big})
	check(3, string(big))
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 4, Metrics: metrics(4), Checkpoint: []byte("four")})
	check(4, "four")
	putEpoch(t, s, "r-1", run.EpochRecord{Epoch: 5, Metrics: metrics(5), Checkpoint: []byte{}}) // empty, but there
	check(5, "")
	// The epoch kept with a checkpoint is returned without it.
	if e, err := s.Epoch(ctx, "r-1", 5); err != nil || e.Checkpoint != nil {
		t.Errorf("Epoch(5) = checkpoint %q, %v; want nil", e.Checkpoint, err)
	}
	// Another run's checkpoints are its own.
	_, _, err := s.Checkpoint(ctx, "r-2")
	checkNotFound(t, "Checkpoint of the other run", err)
}

// frame returns a frame of epoch e with every field set.
func frame(rng *rand.Rand, e int) run.FrameRecord {
	return run.FrameRecord{
		Epoch:    e,
		Method:   run.MethodTSNE,
		Dims:     3,
		Coords:   randomFloats(rng, 3*50),
		Quality:  run.Quality{KL: 1.25 + float64(e), Trustworthiness: 0.9, KNNPreservation: 1.0 / 3, Seconds: 0.125},
		Metrics:  metrics(e),
		Backfill: e%2 == 1,
		Sent:     base.Add(time.Duration(e)*time.Second + 3*time.Microsecond),
	}
}

// checkFrame fails the test unless got equals want, Sent to the
// millisecond and Coords bit for bit.
func checkFrame(t *testing.T, got, want run.FrameRecord) {
	t.Helper()
	checkFloats(t, fmt.Sprintf("frame %d coords", want.Epoch), got.Coords, want.Coords)
	if !sameTime(got.Sent, want.Sent) {
		t.Errorf("frame %d sent %v, want %v", want.Epoch, got.Sent, want.Sent)
	}
	got.Coords, got.Sent = want.Coords, want.Sent
	if !reflect.DeepEqual(got, want) {
		t.Errorf("frame %d:\n got %+v\nwant %+v", want.Epoch, got, want)
	}
}

func testFrames(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0), record("r-2", "s-a", 1))
	rng := rand.New(rand.NewPCG(5, 6))
	want := map[int]run.FrameRecord{}
	for _, e := range []int{4, 0, 2, 1, 3, 6} {
		want[e] = frame(rng, e)
		putFrame(t, s, "r-1", want[e])
	}
	unsent := run.FrameRecord{Epoch: 0, Method: run.MethodPCA, Dims: 2} // zero Sent, no coords
	putFrame(t, s, "r-2", unsent)
	tests := []struct {
		from   int
		epochs []int
	}{
		{0, []int{0, 1, 2, 3, 4, 6}},
		{-1, []int{0, 1, 2, 3, 4, 6}},
		{3, []int{3, 4, 6}},
		{5, []int{6}},
		{7, nil},
	}
	for _, tt := range tests {
		frames, err := s.Frames(ctx, "r-1", tt.from)
		if err != nil {
			t.Fatalf("Frames(%d): %v", tt.from, err)
		}
		var epochs []int
		for _, f := range frames {
			epochs = append(epochs, f.Epoch)
			checkFrame(t, f, want[f.Epoch])
		}
		if !slices.Equal(epochs, tt.epochs) {
			t.Errorf("Frames(%d) = epochs %v, want %v", tt.from, epochs, tt.epochs)
		}
	}
	frames, err := s.Frames(ctx, "r-2", 0)
	if err != nil || len(frames) != 1 {
		t.Fatalf("Frames of r-2 = %d frames, %v; want 1", len(frames), err)
	}
	if f := frames[0]; f.Epoch != 0 || f.Method != run.MethodPCA || f.Dims != 2 || len(f.Coords) != 0 || f.Metrics != nil ||
		f.Quality != (run.Quality{}) || f.Backfill || !f.Sent.IsZero() {
		t.Errorf("unsent frame = %+v, want %+v", f, unsent)
	}
}

func testFrameReplaces(t *testing.T, s run.Store) {
	ctx := context.Background()
	put(t, s, record("r-1", "s-a", 0))
	rng := rand.New(rand.NewPCG(7, 8))
	for e := range 3 {
		putFrame(t, s, "r-1", frame(rng, e))
	}
	// The projection changed to PCA in 2D: epoch 1 is projected again.
	again := run.FrameRecord{Epoch: 1, Method: run.MethodPCA, Dims: 2, Coords: randomFloats(rng, 2*50), Metrics: metrics(1), Backfill: true, Sent: base}
	putFrame(t, s, "r-1", again)
	frames, err := s.Frames(ctx, "r-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[0].Epoch != 1 || frames[1].Epoch != 2 {
		t.Fatalf("Frames(1) = %d frames, want epochs 1 and 2", len(frames))
	}
	checkFrame(t, frames[0], again)
}

// upload returns an upload record with every field set.
func upload(id, session string, minutes int) run.Upload {
	return run.Upload{
		ID:       id,
		Session:  session,
		FileName: "my vectors.tsv",
		Format:   "projector",
		Options:  json.RawMessage(`{"header":true,"label":"genre"}`),
		Files:    []string{id + "/vectors.tsv", id + "/metadata.tsv"},
		Bytes:    1 << 33,
		Info: dataset.Info{Name: id, Title: "My vectors", Description: "Some words.", Kind: dataset.Vectors,
			Items: 1000, Train: 800, Test: 200, Dim: 64, Classes: 5, Precomputed: true},
		Created: base.Add(time.Duration(minutes) * time.Minute),
	}
}

// checkUploads fails the test unless got holds want, in order.
func checkUploads(t *testing.T, what string, got, want []run.Upload) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d uploads, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !sameTime(got[i].Created, want[i].Created) {
			t.Errorf("%s[%d] created %v, want %v", what, i, got[i].Created, want[i].Created)
		}
		g := got[i]
		g.Created = want[i].Created
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("%s[%d]:\n got %+v\nwant %+v", what, i, g, want[i])
		}
	}
}

func testUploads(t *testing.T, s run.Store) {
	ctx := context.Background()
	u1, u2, u3 := upload("u-1", "s-a", 5), upload("u-2", "s-b", 3), upload("u-3", "s-a", 1)
	u2.Options, u2.Files = nil, []string{"u-2/data.csv"}
	for _, u := range []run.Upload{u1, u2, u3} {
		if err := s.PutUpload(ctx, u); err != nil {
			t.Fatalf("PutUpload(%s): %v", u.ID, err)
		}
	}
	got, err := s.Upload(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	checkUploads(t, "Upload(u-1)", []run.Upload{got}, []run.Upload{u1})
	list, err := s.Uploads(ctx, "s-a")
	if err != nil {
		t.Fatal(err)
	}
	checkUploads(t, "Uploads(s-a)", list, []run.Upload{u3, u1})
	list, err = s.Uploads(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkUploads(t, "Uploads()", list, []run.Upload{u3, u2, u1})
	list, err = s.Uploads(ctx, "s-nobody")
	if err != nil || len(list) != 0 {
		t.Errorf("Uploads(s-nobody) = %d uploads, %v; want none", len(list), err)
	}

	u1.FileName, u1.Bytes = "renamed.tsv", 12
	if err := s.PutUpload(ctx, u1); err != nil {
		t.Fatal(err)
	}
	got, err = s.Upload(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	checkUploads(t, "replaced Upload(u-1)", []run.Upload{got}, []run.Upload{u1})

	if err := s.DeleteUpload(ctx, "u-3"); err != nil {
		t.Fatalf("DeleteUpload: %v", err)
	}
	_, err = s.Upload(ctx, "u-3")
	checkNotFound(t, "Upload after DeleteUpload", err)
	list, err = s.Uploads(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkUploads(t, "Uploads() after DeleteUpload", list, []run.Upload{u2, u1})
}

func testCanceledContext(t *testing.T, s run.Store) {
	put(t, s, record("r-1", "s-a", 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: error %v, want context.Canceled", what, err)
		}
	}
	check("PutRun", s.PutRun(ctx, record("r-2", "s-a", 1)))
	_, err := s.Run(ctx, "r-1")
	check("Run", err)
	_, err = s.Runs(ctx, run.RunFilter{})
	check("Runs", err)
	check("PutEpoch", s.PutEpoch(ctx, "r-1", run.EpochRecord{Epoch: 0}))
	_, err = s.Frames(ctx, "r-1", 0)
	check("Frames", err)
	if _, err := s.Run(context.Background(), "r-2"); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("PutRun with a canceled context stored the run (Run: %v)", err)
	}
}

// testConcurrent has writers fill runs while readers list and read them;
// under -race it finds unguarded state, and its final check finds lost
// writes.
func testConcurrent(t *testing.T, s run.Store) {
	ctx := context.Background()
	const writers, epochs = 4, 20
	var wg, readers sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			id := fmt.Sprintf("r-%d", w)
			rec := record(id, "s-a", w)
			if err := s.PutRun(ctx, rec); err != nil {
				t.Errorf("PutRun(%s): %v", id, err)
				return
			}
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for e := range epochs {
				var cp []byte
				if e%5 == 4 {
					cp = []byte{byte(e)}
				}
				err := s.PutEpoch(ctx, id, run.EpochRecord{Epoch: e, Metrics: metrics(e), Embeddings: randomFloats(rng, 100*8), Dim: 8, Checkpoint: cp})
				if err == nil {
					err = s.PutFrame(ctx, id, run.FrameRecord{Epoch: e, Method: run.MethodPCA, Dims: 2, Coords: randomFloats(rng, 100*2)})
				}
				if err == nil && e%7 == 0 {
					err = s.ShareRun(ctx, id, fmt.Sprintf("s-%d", e))
				}
				if err != nil {
					t.Errorf("writer %d epoch %d: %v", w, e, err)
					return
				}
			}
			rec.State = run.Done
			if err := s.PutRun(ctx, rec); err != nil {
				t.Errorf("PutRun(%s): %v", id, err)
			}
		})
	}
	stop := make(chan struct{})
	for r := range 3 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				list, err := s.Runs(ctx, run.RunFilter{Session: "s-a"})
				if err != nil {
					t.Errorf("reader %d: Runs: %v", r, err)
					return
				}
				for _, l := range list {
					if _, err := s.Frames(ctx, l.ID, 0); err != nil {
						t.Errorf("reader %d: Frames(%s): %v", r, l.ID, err)
						return
					}
					if l.Epoch >= 0 {
						if _, err := s.Epoch(ctx, l.ID, l.Epoch); err != nil {
							t.Errorf("reader %d: Epoch(%s, %d): %v", r, l.ID, l.Epoch, err)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	list, err := s.Runs(context.Background(), run.RunFilter{States: []run.State{run.Done}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != writers {
		t.Fatalf("%d runs done, want %d", len(list), writers)
	}
	for _, l := range list {
		frames, err := s.Frames(context.Background(), l.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if l.Epoch != epochs-1 || len(frames) != epochs {
			t.Errorf("run %s: newest epoch %d, %d frames; want %d, %d", l.ID, l.Epoch, len(frames), epochs-1, epochs)
		}
		if e, cp, err := s.Checkpoint(context.Background(), l.ID); err != nil || e != 19 || !bytes.Equal(cp, []byte{19}) {
			t.Errorf("run %s: checkpoint %d, %v, %v; want 19, [19]", l.ID, e, cp, err)
		}
	}
}
