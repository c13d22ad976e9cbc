package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/floatblob"
)

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
	// The run as version 1 wrote it (PutRun writes today's columns).
	if _, err := s.w.ExecContext(ctx, `INSERT INTO runs (id, token_hash, session, name, config, state, error, created, updated)
VALUES ('r-1', zeroblob(32), 's', '', '{}', 'done', '', ?, ?)`, time.Now().UnixMicro(), time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO epochs (run_id, epoch, metrics, dim, embeddings) VALUES ('r-1', 0, NULL, 2, ?)", floatblob.Encode([]float32{1, 2})); err != nil {
		t.Fatal(err)
	}
	s.Close()

	migrations, schemaVersion = shipped, len(shipped)-1
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec, err := s.Run(ctx, "r-1"); err != nil || rec.Owner != "" || !rec.Heartbeat.IsZero() || rec.State != run.Done {
		t.Errorf("the run from before: %+v, %v; want no owner and no heartbeat", rec, err)
	}
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
