package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file keeps uploads across restarts: each upload's files in Files
// (by default a folder of its own under the uploads folder, named by its
// id, never by anything the client sent), its record in the store, and the parsed dataset in
// memory only while it is used (parsed again from the files on first use
// after a restart).

// kept is an upload's kept files and how to parse them again.
type kept struct {
	opts   dataset.ParseOptions // without Metadata and Limits
	files  []string             // the kept files, relative to the uploads folder
	loadMu sync.Mutex           // one parse at a time
}

// Names of an upload's kept files in its folder.
const (
	keptFile     = "file"
	keptMetadata = "metadata"
)

// keep takes a new upload's spool files into its kept files and stores
// its record; on failure nothing of it is left.
func (g *Registry) keep(e *Entry, up Upload) error {
	ctx := context.Background()
	moves := [][2]string{{up.File, keptFile}}
	if up.Metadata != "" {
		moves = append(moves, [2]string{up.Metadata, keptMetadata})
	}
	k := e.upload
	fail := func(err error) error {
		for _, m := range moves {
			os.Remove(m[0]) // what was not taken yet
		}
		if derr := g.o.Files.DeleteUploadFiles(ctx, e.ID); derr != nil {
			g.o.Logger.Warn("removing a failed upload's files", "id", e.ID, "err", derr)
		}
		return err
	}
	for _, m := range moves {
		if err := g.o.Files.KeepUploadFile(ctx, e.ID, m[1], m[0]); err != nil {
			return fail(fmt.Errorf("keeping upload %s: %w", e.ID, err))
		}
		k.files = append(k.files, e.ID+"/"+m[1])
	}
	opts, err := json.Marshal(k.opts)
	if err != nil {
		return fail(fmt.Errorf("encoding upload options: %w", err))
	}
	rec := run.Upload{
		ID: e.ID, Session: e.Session, FileName: e.Name, Format: e.Format, Options: opts,
		Files: k.files, Bytes: e.Bytes, Info: e.Info, Created: e.Created,
	}
	if err := g.o.Store.PutUpload(ctx, rec); err != nil {
		return fail(fmt.Errorf("storing upload %s: %w", e.ID, err))
	}
	return nil
}

// removeFiles deletes an upload's record and files.
func (g *Registry) removeFiles(id string) error {
	ctx := context.Background()
	if err := g.o.Store.DeleteUpload(ctx, id); err != nil && !errors.Is(err, run.ErrNotFound) {
		return err
	}
	return g.o.Files.DeleteUploadFiles(ctx, id)
}

// Restore registers the uploads the store holds, unparsed, and removes
// what an interrupted upload left: spool files, and files no record
// names.
func (g *Registry) Restore(ctx context.Context) error {
	recs, err := g.o.Store.Uploads(ctx, "")
	if err != nil {
		return fmt.Errorf("listing uploads: %w", err)
	}
	known := make(map[string]bool, len(recs))
	g.mu.Lock()
	for _, u := range recs {
		var opts dataset.ParseOptions
		if err := json.Unmarshal(u.Options, &opts); err != nil {
			g.o.Logger.Warn("upload with unreadable options", "id", u.ID, "err", err)
			continue
		}
		known[u.ID] = true
		g.uploads[u.ID] = &Entry{
			Dataset: run.Dataset{
				ID: u.ID, Name: u.FileName, Info: u.Info, Format: u.Format, Uploaded: true, Precomputed: u.Info.Precomputed,
			},
			Session: u.Session, Bytes: u.Bytes, Created: u.Created, upload: &kept{opts: opts, files: u.Files},
		}
	}
	g.mu.Unlock()
	if g.o.ReadOnly {
		return nil
	}
	// Files of an upload whose record is missing, kept OrphanAge ago or
	// earlier: the upload was interrupted between keeping its files and
	// storing its record.
	ids, err := g.o.Files.UploadFileIDs(ctx, time.Now().Add(-g.o.OrphanAge))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if known[id] {
			continue
		}
		if err := g.o.Files.DeleteUploadFiles(ctx, id); err != nil {
			g.o.Logger.Warn("removing what an interrupted upload left", "id", id, "err", err)
		} else {
			g.o.Logger.Info("removed what an interrupted upload left", "id", id)
		}
	}
	entries, err := os.ReadDir(g.o.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading the uploads folder: %w", err)
	}
	for _, de := range entries {
		name := de.Name()
		if !strings.HasSuffix(name, ".part") {
			continue
		}
		if err := os.Remove(filepath.Join(g.o.Dir, name)); err != nil {
			g.o.Logger.Warn("removing what an interrupted upload left", "file", name, "err", err)
		} else {
			g.o.Logger.Info("removed what an interrupted upload left", "file", name)
		}
	}
	return nil
}

// loaded returns e with its dataset, parsing its files again if this
// process has not yet: a restored upload costs memory only once used.
func (g *Registry) loaded(e *Entry) (Entry, error) {
	g.mu.Lock()
	if e.Data != nil || e.upload == nil {
		defer g.mu.Unlock()
		return *e, nil
	}
	k := e.upload
	g.mu.Unlock()

	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	g.mu.Lock()
	if e.Data != nil {
		defer g.mu.Unlock()
		return *e, nil
	}
	g.mu.Unlock()
	ds, err := g.parse(e.ID, e.Name, k)
	if err != nil {
		return Entry{}, err
	}
	size := Bytes(ds)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total+size > g.o.MaxBytes {
		return Entry{}, run.Errorf(run.Insufficient, "", "the server holds as much uploaded data as it may; try again later")
	}
	e.Data, e.Bytes, e.Info = ds, size, ds.Info()
	g.total += size
	return *e, nil
}

// parse parses an upload's kept files.
func (g *Registry) parse(id, name string, k *kept) (*dataset.Dataset, error) {
	start := time.Now()
	opts := k.opts
	opts.Limits = g.o.Limits
	var file, meta io.ReadCloser
	defer func() {
		for _, x := range []io.ReadCloser{file, meta} {
			if x != nil {
				x.Close()
			}
		}
	}()
	for _, rel := range k.files {
		kid, name, ok := strings.Cut(rel, "/")
		if !ok || kid != id || (name != keptFile && name != keptMetadata) {
			return nil, fmt.Errorf("upload %s names a file %q of another", id, rel)
		}
		x, err := g.o.Files.OpenUploadFile(context.Background(), id, name)
		if err != nil {
			return nil, fmt.Errorf("opening upload %s: %w", id, err)
		}
		if name == keptMetadata {
			meta = x
		} else {
			file = x
		}
	}
	if file == nil {
		return nil, fmt.Errorf("upload %s has no file", id)
	}
	if meta != nil {
		opts.Metadata = meta
	}
	ds, err := dataset.Parse(name, file, opts)
	if err != nil {
		return nil, fmt.Errorf("parsing upload %s again: %w", id, err)
	}
	ds.Name = id
	g.o.Logger.Info("upload parsed again", "id", id, "items", ds.Len(), "duration", time.Since(start))
	return ds, nil
}
