package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// rawFloats returns x as a floatsRaw blob.
func rawFloats(x []float32) []byte { return appendRaw([]byte{floatsRaw}, x) }

// unitRows returns n×dim values like a trained encoder's embeddings:
// unit-length rows around ten cluster centres.
func unitRows(rng *rand.Rand, n, dim int) []float32 {
	centres := make([]float64, 10*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, n*dim)
	for i := range n {
		var ss float64
		row := x[i*dim:][:dim]
		for j := range row {
			v := centres[i%10*dim+j] + 0.8*rng.NormFloat64()
			row[j] = float32(v)
			ss += v * v
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / math.Sqrt(ss))
		}
	}
	return x
}

func TestFloatsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bits := make([]float32, 1000)
	for i := range bits {
		bits[i] = math.Float32frombits(rng.Uint32()) // NaNs too: their bits must survive
	}
	tests := []struct {
		name   string
		x      []float32
		format byte // the one encodeFloats chooses
	}{
		{"none", nil, floatsRaw},
		{"one", []float32{-1.5}, floatsRaw},
		{"odd", []float32{1, 2, 3, 4, 5, 6, 7}, floatsRaw},
		{"special", []float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, math.MaxFloat32, float32(math.Copysign(0, -1))}, floatsRaw},
		{"bits", bits, floatsRaw},
		{"zeros", make([]float32, 1000), floatsShuffle},
		{"embeddings", unitRows(rng, 10000, 32), floatsShuffle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b := encodeFloats(tt.x); b[0] != tt.format || len(b) > 1+4*len(tt.x) {
				t.Errorf("encodeFloats wrote format %d, %d bytes for %d values; want format %d, at most %d bytes",
					b[0], len(b), len(tt.x), tt.format, 1+4*len(tt.x))
			}
			for _, blob := range [][]byte{encodeFloats(tt.x), rawFloats(tt.x)} {
				got, err := decodeFloats(blob)
				if err != nil {
					t.Fatalf("format %d: %v", blob[0], err)
				}
				if len(got) != len(tt.x) {
					t.Fatalf("format %d: %d values, want %d", blob[0], len(got), len(tt.x))
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(tt.x[i]) {
						t.Fatalf("format %d: value %d = %#08x, want %#08x", blob[0], i, math.Float32bits(got[i]), math.Float32bits(tt.x[i]))
					}
				}
			}
		})
	}
}

func TestDecodeFloatsDamaged(t *testing.T) {
	good := encodeFloats(unitRows(rand.New(rand.NewPCG(3, 4)), 100, 8))
	huge := append([]byte{floatsShuffle}, binary.AppendUvarint(nil, 1<<40)...)
	tests := map[string][]byte{
		"empty":           {},
		"unknown format":  {9, 1, 2, 3},
		"raw of 5 bytes":  {floatsRaw, 1, 2, 3, 4, 5},
		"no count":        {floatsShuffle},
		"huge count":      append(huge, good[3:]...),
		"count too large": append([]byte{floatsShuffle}, append(binary.AppendUvarint(nil, 801), good[3:]...)...),
		"count too small": append([]byte{floatsShuffle}, append(binary.AppendUvarint(nil, 799), good[3:]...)...),
		"truncated":       good[:len(good)/2],
		"not deflate":     append(good[:3:3], bytes.Repeat([]byte{0xff}, 100)...),
	}
	for name, blob := range tests {
		if x, err := decodeFloats(blob); err == nil {
			t.Errorf("%s: decoded %d values, want an error", name, len(x))
		}
	}
}

// FuzzDecodeFloats decodes any bytes: an error or values, never a panic.
func FuzzDecodeFloats(f *testing.F) {
	f.Add(encodeFloats([]float32{1, 2, 3}))
	f.Add(rawFloats([]float32{1, 2}))
	f.Add([]byte{floatsShuffle, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := decodeFloats(b)
		if err == nil && len(b) > 0 && b[0] == floatsShuffle {
			if again := encodeFloats(x); len(x) > 0 && !bytes.Equal(mustDecode(t, again), mustDecode(t, b)) {
				t.Errorf("decode(encode(x)) != x")
			}
		}
	})
}

// mustDecode returns the bits of the floats blob b holds.
func mustDecode(t *testing.T, b []byte) []byte {
	x, err := decodeFloats(b)
	if err != nil {
		t.Fatal(err)
	}
	return rawFloats(x)
}

// openTemp opens a new store in t's temporary folder, closed when the test
// ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "explorer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for _, db := range []struct {
		name string
		want map[string]string
	}{
		{"writer", map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "5000"}},
		{"reader", map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "1"}},
	} {
		conn := s.w
		if db.name == "reader" {
			conn = s.r
		}
		for pragma, want := range db.want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", db.name, pragma, got, want)
			}
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool of %d connections, want 1", got)
	}
}

func TestRunsQueryPlan(t *testing.T) {
	// Listing runs finds each one's newest epoch through the primary key,
	// never reading other epochs' rows (and their embeddings).
	ctx := context.Background()
	s := openTemp(t)
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT e.metrics "+listingFrom)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
		if detail == "SCAN e" || detail == "SCAN epochs" {
			t.Errorf("plan scans the epochs: %q", detail)
		}
	}
	t.Log(plan)
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "explorer.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	shipped := migrations
	t.Cleanup(func() { migrations, schemaVersion = shipped, len(shipped)-1 })
	version := func() (v int, extra bool) {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return v, n > 0
	}

	// A migration that fails half way changes nothing.
	migrations = append(slices.Clip(shipped), "CREATE TABLE extra (x INTEGER) STRICT; CREATE TABLE runs (x INTEGER)")
	schemaVersion = len(migrations) - 1
	base := len(shipped) - 1
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", base+1)) {
		t.Errorf("Open with a failing migration: %v", err)
	}
	if v, extra := version(); v != base || extra {
		t.Errorf("after a failed migration: version %d, table extra %v; want %d, false", v, extra, base)
	}

	migrations = append(slices.Clip(shipped), "CREATE TABLE extra (x INTEGER) STRICT; INSERT INTO extra VALUES (1)")
	schemaVersion = len(migrations) - 1
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v, extra := version(); v != base+1 || !extra {
		t.Errorf("after migrating: version %d, table extra %v; want %d, true", v, extra, base+1)
	}
}

// TestMigrateEpochPairs opens a database of schema version 1, with an
// epoch recorded, in this explorer: the epoch reads back without pairs,
// and new epochs keep theirs.
func TestMigrateEpochPairs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "explorer.db")
	shipped := migrations
	t.Cleanup(func() { migrations, schemaVersion = shipped, len(shipped)-1 })
	migrations, schemaVersion = shipped[:2], 1
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	rec := run.Record{ID: "r-1", Session: "s", State: run.Done, Created: time.Now(), Updated: time.Now()}
	if err := s.PutRun(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO epochs (run_id, epoch, metrics, dim, embeddings) VALUES ('r-1', 0, NULL, 2, ?)", encodeFloats([]float32{1, 2})); err != nil {
		t.Fatal(err)
	}
	s.Close()

	migrations, schemaVersion = shipped, len(shipped)-1
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := s.Epoch(ctx, "r-1", 0)
	if err != nil || old.Pairs != nil || len(old.Embeddings) != 2 {
		t.Fatalf("the epoch from before: %+v, %v", old, err)
	}
	pairs := []run.PairRecord{{A: 0, B: 1, Positive: true, Distance: 0.5}}
	if err := s.PutEpoch(ctx, "r-1", run.EpochRecord{Epoch: 1, Dim: 2, Embeddings: []float32{3, 4}, Pairs: pairs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Epoch(ctx, "r-1", 1)
	if err != nil || len(got.Pairs) != 1 || got.Pairs[0].A != 0 || got.Pairs[0].B != 1 || !got.Pairs[0].Positive || got.Pairs[0].Distance != 0.5 {
		t.Errorf("a new epoch's pairs: %+v, %v", got.Pairs, err)
	}
}

// BenchmarkFloats encodes and decodes 10,000×32 embeddings, reporting the
// blob's size as a fraction of the raw one.
func BenchmarkFloats(b *testing.B) {
	x := unitRows(rand.New(rand.NewPCG(1, 2)), 10000, 32)
	blob := encodeFloats(x)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			encodeFloats(x)
		}
		b.ReportMetric(float64(len(blob))/float64(1+4*len(x)), "size/raw")
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			if _, err := decodeFloats(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := rawFloats(x)
	b.Run("decode-raw", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			if _, err := decodeFloats(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
