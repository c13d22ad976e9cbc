package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/sqlite"
	"github.com/contrastive-explorer/explorer/run/storetest"
	"github.com/contrastive-explorer/explorer/trainer"
)

// openFile opens the store at path, failing the test on an error.
func openFile(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// open opens a new store in a file of t's temporary folder, closed when
// the test ends.
func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s := openFile(t, filepath.Join(t.TempDir(), "explorer.db"))
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) run.Store {
		return openFile(t, filepath.Join(t.TempDir(), "explorer.db"))
	})
}

// record returns a run record created at minute i.
func record(i int) run.Record {
	created := time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)
	cfg := trainer.DefaultConfig()
	cfg.Dataset = "digits"
	return run.Record{
		ID: fmt.Sprintf("r-%016x", i), Session: fmt.Sprintf("s-%d", i%10), State: run.Done,
		Config:  run.Config{Config: cfg, Projection: run.MethodTSNE, Dims: 2},
		Created: created, Updated: created,
	}
}

// embeddings returns n×dim values like a trained encoder's: unit-length
// rows around a few cluster centres.
func embeddings(rng *rand.Rand, n, dim int) []float32 {
	const clusters = 10
	centres := make([]float64, clusters*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, n*dim)
	row := make([]float64, dim)
	for i := range n {
		c := centres[i%clusters*dim:][:dim]
		var ss float64
		for j := range row {
			row[j] = c[j] + 0.8*rng.NormFloat64()
			ss += row[j] * row[j]
		}
		for j, v := range row {
			x[i*dim+j] = float32(v / math.Sqrt(ss))
		}
	}
	return x
}

// fill stores a run with an epoch, a checkpoint and a frame in s.
func fill(t testing.TB, s *sqlite.Store, i int) {
	t.Helper()
	ctx := context.Background()
	rec := record(i)
	rng := rand.New(rand.NewPCG(uint64(i), 1))
	err := s.PutRun(ctx, rec)
	if err == nil {
		err = s.PutEpoch(ctx, rec.ID, run.EpochRecord{Epoch: 0, Metrics: json.RawMessage(`{"loss":1}`),
			Embeddings: embeddings(rng, 200, 16), Dim: 16, Checkpoint: []byte("state")})
	}
	if err == nil {
		err = s.PutFrame(ctx, rec.ID, run.FrameRecord{Epoch: 0, Method: run.MethodPCA, Dims: 2, Coords: embeddings(rng, 200, 2)})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// validDatabase returns the bytes of a closed database holding a few runs.
func validDatabase(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "valid.db")
	s := openFile(t, path)
	for i := range 5 {
		fill(t, s, i)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkOpenFails fails the test unless opening a file holding data fails
// with an error that names the file.
func checkOpenFails(t *testing.T, data []byte, want string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatalf("Open of a damaged file succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Errorf("Open: %v; want an error naming %s and saying %q", err, path, want)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "explorer.db")
	s := openFile(t, path)
	fill(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Close checkpointed the WAL: the database file holds everything.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("WAL of %d bytes after Close", fi.Size())
	}
	s = openFile(t, path)
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	if _, err := s.Run(ctx, record(1).ID); err != nil {
		t.Errorf("Run after reopening: %v", err)
	}
	if e, err := s.Epoch(ctx, record(1).ID, 0); err != nil || len(e.Embeddings) != 200*16 {
		t.Errorf("Epoch after reopening: %d values, %v", len(e.Embeddings), err)
	}
}

func TestOpenTruncated(t *testing.T) {
	valid := validDatabase(t)
	if len(valid) < 8*4096 {
		t.Fatalf("valid database of %d bytes: too small to truncate meaningfully", len(valid))
	}
	for _, n := range []int{len(valid) / 2, 3 * 4096, 4096 + 100, 100, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			checkOpenFails(t, valid[:n], "damaged")
		})
	}
}

func TestOpenDamaged(t *testing.T) {
	valid := validDatabase(t)
	rng := rand.New(rand.NewPCG(1, 1))
	damaged := append([]byte(nil), valid...)
	for i := range 4096 {
		damaged[len(valid)/2+i] = byte(rng.Uint32())
	}
	t.Run("overwritten", func(t *testing.T) { checkOpenFails(t, damaged, "damaged") })
	t.Run("text", func(t *testing.T) {
		checkOpenFails(t, []byte(strings.Repeat("not a database\n", 500)), "not a database")
	})
}

func TestOpenOtherDatabases(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, sql, want string
	}{
		{"another program's", "CREATE TABLE notes (body TEXT)", "another program"},
		{"newer", "PRAGMA user_version = 99; PRAGMA application_id = 1128618064", "newer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			if tt.name == "newer" {
				openFile(t, path).Close()
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, tt.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = sqlite.Open(ctx, path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v; want an error naming the file and saying %q", err, tt.want)
			}
		})
	}
}

func TestOpenPathWithQuery(t *testing.T) {
	// The driver must not read "?mode=ro" in a file's name as parameters.
	dir := filepath.Join(t.TempDir(), "odd #dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a?mode=ro&x=%41.db")
	s := openFile(t, path)
	fill(t, s, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at its path: %v", err)
	}
}

// FuzzOpen opens files of any bytes: Open must give a working store or an
// error, never panic or hang. The seeds are made when the fuzz test starts
// (the current schema's database, truncated and damaged), not kept in
// testdata, so they follow the schema.
func FuzzOpen(f *testing.F) {
	valid := validDatabase(f)
	damaged := append([]byte(nil), valid...)
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range 512 {
		damaged[len(damaged)/2+i] = byte(rng.Uint32())
	}
	f.Add([]byte{})
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:4096])
	f.Add(damaged)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		defer s.Close()
		// The store may hold damage quick_check does not see: its methods
		// may fail, but not panic.
		list, _ := s.Runs(ctx, run.RunFilter{})
		for _, l := range list {
			s.Epoch(ctx, l.ID, max(l.Epoch, 0))
			s.Frames(ctx, l.ID, 0)
			s.Checkpoint(ctx, l.ID)
		}
		s.Uploads(ctx, "")
		s.PutRun(ctx, record(1))
		s.IntegrityCheck(ctx)
	})
}

// BenchmarkRuns1000 lists 1,000 runs, each with two epochs.
func BenchmarkRuns1000(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		rec := record(i)
		if err := s.PutRun(ctx, rec); err != nil {
			b.Fatal(err)
		}
		for e := range 2 {
			metrics := json.RawMessage(fmt.Sprintf(`{"epoch":%d,"loss":%g,"knn":%g}`, e, rng.Float64(), rng.Float64()))
			if err := s.PutEpoch(ctx, rec.ID, run.EpochRecord{Epoch: e, Metrics: metrics, Embeddings: embeddings(rng, 100, 32), Dim: 32}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		list, err := s.Runs(ctx, run.RunFilter{})
		if err != nil || len(list) != 1000 || list[0].Epoch != 1 {
			b.Fatalf("Runs = %d runs, %v", len(list), err)
		}
	}
}

// BenchmarkPutEpoch records epochs of 10,000×32 embeddings with a
// checkpoint.
func BenchmarkPutEpoch(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	rec := record(0)
	if err := s.PutRun(ctx, rec); err != nil {
		b.Fatal(err)
	}
	e := run.EpochRecord{Metrics: json.RawMessage(`{"loss":0.5}`), Embeddings: embeddings(rand.New(rand.NewPCG(1, 2)), 10000, 32), Dim: 32,
		Checkpoint: make([]byte, 64<<10)}
	b.SetBytes(int64(4 * len(e.Embeddings)))
	for b.Loop() {
		if err := s.PutEpoch(ctx, rec.ID, e); err != nil {
			b.Fatal(err)
		}
		e.Epoch++
	}
}
