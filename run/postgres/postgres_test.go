package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/postgres"
	"github.com/contrastive-explorer/explorer/run/postgres/pgtest"
	"github.com/contrastive-explorer/explorer/run/storetest"
)

func openStore(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStore runs the store conformance suite on a real PostgreSQL server,
// a new database for every subtest.
func TestStore(t *testing.T) {
	c := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) run.Store { return openStore(t, c.NewDatabase(t)) })
	t.Run("Queue", func(t *testing.T) {
		storetest.RunQueue(t, func(t *testing.T) storetest.Queue { return openStore(t, c.NewDatabase(t)) })
	})
}

// TestReplicasMigrateOnce: replicas opening a new database at the same
// moment migrate it once, and every one of them can use it; opening it
// again later finds it current.
func TestReplicasMigrateOnce(t *testing.T) {
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	const replicas = 4
	stores := make([]*postgres.Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(context.Background(), url) })
	}
	wg.Wait()
	ctx := context.Background()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	rec := run.Record{ID: "r-1", Session: "s", State: run.Done, Created: time.Now(), Updated: time.Now()}
	if err := stores[0].PutRun(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if got, err := s.Run(ctx, "r-1"); err != nil || got.ID != "r-1" {
			t.Errorf("replica %d reads %+v, %v", i, got, err)
		}
	}
	again := openStore(t, url)
	if list, err := again.Runs(ctx, run.RunFilter{}); err != nil || len(list) != 1 {
		t.Errorf("reopened: %d runs, %v", len(list), err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM explorer_schema").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("explorer_schema holds %d rows (%v), want 1", rows, err)
	}
}

// TestNewerSchemaRefused: a database a newer explorer migrated is refused
// with a message that says so, and left as it was.
func TestNewerSchemaRefused(t *testing.T) {
	c := pgtest.Start(t)
	url := c.NewDatabase(t)
	openStore(t, url).Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE explorer_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, url)
	if err == nil || !strings.Contains(err.Error(), "newer explorer") {
		t.Fatalf("Open of a version 99 database: %v, want a newer explorer's schema refused", err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT version FROM explorer_schema").Scan(&v); err != nil || v != 99 {
		t.Errorf("version after the refusal: %d, %v", v, err)
	}
}

// TestOpenErrors: a malformed address or a server that is not there is a
// clear error that never repeats the password.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{"postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "postgres://u:hunter2@[::1/x"} {
		_, err := postgres.Open(ctx, dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the error shows the password: %v", dsn, err)
		}
	}
}

// TestOpenExisting: the readers' open migrates nothing: an empty database
// is refused and stays empty, a current one opens, an older or newer
// schema is refused naming which it is.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t).NewDatabase(t)
	if _, err := postgres.OpenExisting(ctx, url); err == nil || !strings.Contains(err.Error(), "no explorer runs") {
		t.Fatalf("OpenExisting of an empty database: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("OpenExisting made %d tables (%v)", tables, err)
	}
	openStore(t, url).Close()
	s, err := postgres.OpenExisting(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for version, want := range map[int]string{1: "older", 99: "newer"} {
		if _, err := conn.Exec(ctx, "UPDATE explorer_schema SET version = $1", version); err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.OpenExisting(ctx, url); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenExisting of schema version %d: %v, want %q", version, err, want)
		}
	}
}
