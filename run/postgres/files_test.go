package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/postgres"
	"github.com/contrastive-explorer/explorer/run/postgres/pgtest"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

var _ datasets.Files = (*postgres.Store)(nil)

// TestUploadFiles: a file of several chunks, an empty one and a replaced
// one come back byte for byte; the spool file is gone; a missing file is
// os.ErrNotExist; deleting removes every file of the upload.
func TestUploadFiles(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.Start(t).NewDatabase(t))
	dir := t.TempDir()
	keep := func(id, name string, b []byte) {
		t.Helper()
		spool := filepath.Join(dir, "spool.part")
		if err := os.WriteFile(spool, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.KeepUploadFile(ctx, id, name, spool); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(spool); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the spool file is left: %v", err)
		}
	}
	read := func(id, name string) []byte {
		t.Helper()
		r, err := s.OpenUploadFile(ctx, id, name)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big := make([]byte, 5<<19+123) // two chunks and a half
	for i := range big {
		big[i] = byte(rand.N(256))
	}
	keep("u-1", "file", big)
	keep("u-1", "metadata", nil)
	keep("u-2", "file", []byte("old"))
	keep("u-2", "file", []byte("new"))
	if got := read("u-1", "file"); !bytes.Equal(got, big) {
		t.Errorf("a %d-byte file comes back as %d bytes, equal %v", len(big), len(got), bytes.Equal(got, big))
	}
	if got := read("u-1", "metadata"); len(got) != 0 {
		t.Errorf("the empty file comes back as %q", got)
	}
	if got := read("u-2", "file"); string(got) != "new" {
		t.Errorf("the replaced file reads %q", got)
	}
	if _, err := s.OpenUploadFile(ctx, "u-3", "file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
	if ids, err := s.UploadFileIDs(ctx, time.Now().Add(time.Minute)); err != nil || fmt.Sprint(ids) != "[u-1 u-2]" {
		t.Errorf("UploadFileIDs = %v, %v", ids, err)
	}
	if ids, err := s.UploadFileIDs(ctx, time.Now().Add(-time.Hour)); err != nil || len(ids) != 0 {
		t.Errorf("UploadFileIDs of files kept over an hour ago = %v, %v", ids, err)
	}
	if err := s.DeleteUploadFiles(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenUploadFile(ctx, "u-1", "file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after delete: %v, want os.ErrNotExist", err)
	}
}

// TestUploadsWithoutSharedDisk: an upload made on one replica is parsed
// again by another that shares only the database (its uploads folder is
// another, empty one), and stays private to its session there; removed,
// its files leave the database.
func TestUploadsWithoutSharedDisk(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t).NewDatabase(t)
	s1, s2 := openStore(t, url), openStore(t, url)
	registry := func(s *postgres.Store) (*datasets.Registry, string) {
		dir := t.TempDir()
		g := datasets.New(datasets.Options{Catalog: datasets.Bundled{}, Store: s, Files: s, Dir: dir, MaxPerSession: 2, MaxBytes: 1 << 30})
		if err := g.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		return g, dir
	}
	a, dirA := registry(s1)
	var csv strings.Builder
	csv.WriteString("a,b,label\n")
	for i := range 40 {
		fmt.Fprintf(&csv, "%d,%d,%s\n", i, i*i%7, []string{"x", "y"}[i%2])
	}
	spool := filepath.Join(dirA, "spool.part")
	if err := os.WriteFile(spool, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Parse("points.csv", strings.NewReader(csv.String()), dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reserve("alice"); err != nil {
		t.Fatal(err)
	}
	e, err := a.Add("alice", "points.csv", dataset.FormatCSV, ds, datasets.Upload{File: spool})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dirA); len(entries) != 0 {
		t.Errorf("the uploads folder holds %d entries, want none (the files are in the database)", len(entries))
	}

	b, _ := registry(s2)
	got, err := b.Get("alice", e.ID)
	if err != nil || got.Data == nil || got.Data.Len() != 40 {
		t.Fatalf("the other replica's copy: %+v, %v", got.Dataset, err)
	}
	if _, err := b.Get("bob", e.ID); err == nil {
		t.Error("another session gets the upload on the other replica")
	}
	if err := b.Remove("alice", e.ID); err != nil {
		t.Fatal(err)
	}
	if ids, err := s1.UploadFileIDs(ctx, time.Now().Add(time.Minute)); err != nil || len(ids) != 0 {
		t.Errorf("after removal the database holds files of %v (%v)", ids, err)
	}
}

// TestRestoreSparesUploadsInProgress: a replica starting while another
// has kept an upload's files but not yet its record leaves them (they are
// younger than the orphan age); files older than it, without a record, go.
func TestRestoreSparesUploadsInProgress(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.Start(t).NewDatabase(t))
	spool := filepath.Join(t.TempDir(), "spool.part")
	if err := os.WriteFile(spool, []byte("a,b,label\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.KeepUploadFile(ctx, "u-0123456789abcdef", "file", spool); err != nil {
		t.Fatal(err)
	}
	restore := func(age time.Duration) {
		g := datasets.New(datasets.Options{Catalog: datasets.Bundled{}, Store: s, Files: s, Dir: t.TempDir(), OrphanAge: age})
		if err := g.Restore(ctx); err != nil {
			t.Fatal(err)
		}
	}
	restore(time.Hour)
	if ids, _ := s.UploadFileIDs(ctx, time.Now().Add(time.Minute)); len(ids) != 1 {
		t.Fatalf("a starting replica removed an upload in progress: %v left", ids)
	}
	restore(0)
	if ids, _ := s.UploadFileIDs(ctx, time.Now().Add(time.Minute)); len(ids) != 0 {
		t.Errorf("orphaned files older than the orphan age are left: %v", ids)
	}
}
