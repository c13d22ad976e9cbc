package datasets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// csv returns a small labelled CSV.
func csv(rows int) string {
	var b strings.Builder
	b.WriteString("a,b,label\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,%d,%s\n", i, i*i%7, []string{"x", "y"}[i%2])
	}
	return b.String()
}

// upload writes a spool file in dir, parses it and adds it for session.
func upload(t *testing.T, g *Registry, dir, session string) (Entry, error) {
	t.Helper()
	if err := g.Reserve(session); err != nil {
		return Entry{}, err
	}
	spool := filepath.Join(dir, "spool.part")
	if err := os.WriteFile(spool, []byte(csv(40)), 0o600); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Parse("points.csv", strings.NewReader(csv(40)), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g.Add(session, "points.csv", dataset.FormatCSV, ds, Upload{File: spool})
}

func newRegistry(t *testing.T, st run.Store, dir string, maxBytes int64) *Registry {
	t.Helper()
	g := New(Options{Catalog: Bundled{}, Store: st, Dir: dir, MaxPerSession: 2, MaxBytes: maxBytes})
	if err := g.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRegistry: uploads are private to their session, bounded per session
// and by memory, kept across a restart (parsed again on first use), and
// give their budget back when removed; what an interrupted upload left is
// cleaned at start.
func TestRegistry(t *testing.T) {
	dir, st := t.TempDir(), memory.New()
	g := newRegistry(t, st, dir, 1<<30)
	a, err := upload(t, g, dir, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !IsUpload(a.ID) || a.Name != "points.csv" || a.Data.Name != a.ID || a.Bytes <= 0 {
		t.Fatalf("entry %+v", a.Dataset)
	}
	if _, err := g.Get("bob", a.ID); run.ErrorCode(err) != run.NotFound {
		t.Errorf("another session's upload: %v, want not found", err)
	}
	if _, err := g.Get("", a.ID); run.ErrorCode(err) != run.NotFound {
		t.Errorf("no session: %v, want not found", err)
	}
	if g.Owns("bob", a.ID) || !g.Owns("alice", a.ID) {
		t.Error("Owns")
	}
	if l := g.List("bob"); len(l) != len(Bundled{}.List()) {
		t.Errorf("bob lists %d datasets, want only the %d bundled", len(l), len(Bundled{}.List()))
	}
	if _, err := upload(t, g, dir, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(t, g, dir, "alice"); run.ErrorCode(err) != run.Conflict {
		t.Errorf("third upload of a session: %v, want conflict", err)
	}
	if err := g.Remove("bob", a.ID); run.ErrorCode(err) != run.NotFound {
		t.Errorf("bob removing alice's upload: %v", err)
	}
	if err := g.Remove("alice", g.FirstBundled()); run.ErrorCode(err) != run.Conflict {
		t.Errorf("removing a bundled dataset: %v, want conflict", err)
	}

	// A restart: records and files come back, unparsed until used; stale
	// spool files and folders without a record go.
	os.WriteFile(filepath.Join(dir, "x.part"), []byte("half"), 0o600)
	os.Mkdir(filepath.Join(dir, IDPrefix+"orphan"), 0o700)
	g2 := newRegistry(t, st, dir, 1<<30)
	for _, stale := range []string{"x.part", IDPrefix + "orphan"} {
		if _, err := os.Stat(filepath.Join(dir, stale)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after a restart: %v", stale, err)
		}
	}
	if g2.total != 0 {
		t.Errorf("restored uploads hold %d bytes before use", g2.total)
	}
	got, err := g2.Get("alice", a.ID)
	if err != nil || got.Data == nil || got.Data.Len() != a.Data.Len() || got.Data.Name != a.ID {
		t.Fatalf("restored upload: %+v, %v", got.Dataset, err)
	}
	if g2.total != got.Bytes {
		t.Errorf("budget %d after parsing, want %d", g2.total, got.Bytes)
	}
	if err := g2.Remove("alice", a.ID); err != nil {
		t.Fatal(err)
	}
	if g2.total != 0 {
		t.Errorf("budget %d after removal, want 0", g2.total)
	}
	if _, err := os.Stat(filepath.Join(dir, a.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed upload's folder is left: %v", err)
	}
	if recs, _ := st.Uploads(context.Background(), "alice"); len(recs) != 1 {
		t.Errorf("%d records of alice's uploads, want 1", len(recs))
	}
}

// TestRegistryBudget: an upload that does not fit the memory budget is
// refused and leaves nothing on disk.
func TestRegistryBudget(t *testing.T) {
	dir := t.TempDir()
	g := newRegistry(t, memory.New(), dir, 100)
	if _, err := upload(t, g, dir, "alice"); run.ErrorCode(err) != run.Insufficient {
		t.Fatalf("over budget: %v, want insufficient", err)
	}
	if err := g.Reserve("alice"); err != nil {
		t.Errorf("the refused upload kept its reservation: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("folder %s left by a refused upload", e.Name())
		}
	}
}
