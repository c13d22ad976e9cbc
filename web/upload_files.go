package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file keeps uploads across restarts: each upload's files in a folder
// of its own under the uploads folder (named by its id, never by anything
// the client sent), its record in the store, and the parsed dataset in
// memory only while it is used (parsed again from the files on first use
// after a restart).

// storedUpload is what it takes to parse an upload again.
type storedUpload struct {
	opts   dataset.ParseOptions // without Metadata and Limits
	file   string               // spool file of the upload, moved into its folder by keep
	meta   string               // spool file of projector metadata, "" for none
	files  []string             // the kept files, relative to the uploads folder
	loadMu sync.Mutex           // one parse at a time
}

// uploadFiles is the uploads folder and the store of uploads' records.
type uploadFiles struct {
	dir    string
	store  run.Store
	limits dataset.Limits
	log    *slog.Logger
}

// Names of an upload's kept files in its folder.
const (
	keptFile     = "file"
	keptMetadata = "metadata"
)

// keep moves a new upload's spool files into its folder and stores its
// record; on failure nothing of it is left.
func (f *uploadFiles) keep(e *datasetEntry) error {
	up := e.upload
	dir := filepath.Join(f.dir, e.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("upload folder: %w", err)
	}
	moves := [][2]string{{up.file, keptFile}}
	if up.meta != "" {
		moves = append(moves, [2]string{up.meta, keptMetadata})
	}
	up.files = nil
	for _, m := range moves {
		if err := os.Rename(m[0], filepath.Join(dir, m[1])); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("keeping an upload: %w", err)
		}
		up.files = append(up.files, e.ID+"/"+m[1])
	}
	opts, err := json.Marshal(up.opts)
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("encoding upload options: %w", err)
	}
	rec := run.Upload{
		ID: e.ID, Session: e.session, FileName: e.Name, Format: e.Format, Options: opts,
		Files: up.files, Bytes: e.bytes, Info: e.Info, Created: e.created,
	}
	if err := f.store.PutUpload(context.Background(), rec); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("storing upload %s: %w", e.ID, err)
	}
	return nil
}

// remove deletes an upload's record and folder.
func (f *uploadFiles) remove(id string) error {
	if err := f.store.DeleteUpload(context.Background(), id); err != nil && !errors.Is(err, run.ErrNotFound) {
		return err
	}
	return os.RemoveAll(filepath.Join(f.dir, id))
}

// restore registers the uploads the store holds, unparsed, and removes
// what an interrupted upload left: spool files, and folders no record
// names.
func (g *registry) restore(ctx context.Context) error {
	f := g.files
	recs, err := f.store.Uploads(ctx, "")
	if err != nil {
		return fmt.Errorf("listing uploads: %w", err)
	}
	known := make(map[string]bool, len(recs))
	g.mu.Lock()
	for _, u := range recs {
		var opts dataset.ParseOptions
		if err := json.Unmarshal(u.Options, &opts); err != nil {
			f.log.Warn("upload with unreadable options", "id", u.ID, "err", err)
			continue
		}
		known[u.ID] = true
		up := &storedUpload{opts: opts, files: u.Files}
		g.uploads[u.ID] = &datasetEntry{
			Dataset: run.Dataset{
				ID: u.ID, Name: u.FileName, Info: u.Info, Format: u.Format, Uploaded: true, Precomputed: u.Info.Precomputed,
			},
			session: u.Session, bytes: u.Bytes, created: u.Created, upload: up,
		}
	}
	g.mu.Unlock()
	entries, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading the uploads folder: %w", err)
	}
	for _, de := range entries {
		name := de.Name()
		stale := strings.HasSuffix(name, ".part") || (de.IsDir() && strings.HasPrefix(name, uploadIDPrefix) && !known[name])
		if !stale {
			continue
		}
		if err := os.RemoveAll(filepath.Join(f.dir, name)); err != nil {
			f.log.Warn("removing what an interrupted upload left", "file", name, "err", err)
		} else {
			f.log.Info("removed what an interrupted upload left", "file", name)
		}
	}
	return nil
}

// loaded returns e with its dataset, parsing its files again if this
// process has not yet: a restored upload costs memory only once used.
func (g *registry) loaded(e *datasetEntry) (datasetEntry, error) {
	g.mu.Lock()
	if e.Data != nil || e.upload == nil {
		defer g.mu.Unlock()
		return *e, nil
	}
	up := e.upload
	g.mu.Unlock()

	up.loadMu.Lock()
	defer up.loadMu.Unlock()
	g.mu.Lock()
	if e.Data != nil {
		defer g.mu.Unlock()
		return *e, nil
	}
	g.mu.Unlock()
	ds, err := g.files.parse(e.ID, e.Name, up)
	if err != nil {
		return datasetEntry{}, err
	}
	size := datasetBytes(ds)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total+size > g.maxBytes {
		return datasetEntry{}, &statusError{code: http.StatusInsufficientStorage,
			msg: "the server holds as much uploaded data as it may; try again later"}
	}
	e.Data, e.bytes, e.Info = ds, size, ds.Info()
	g.total += size
	return *e, nil
}

// parse parses an upload's kept files.
func (f *uploadFiles) parse(id, name string, up *storedUpload) (*dataset.Dataset, error) {
	start := time.Now()
	opts := up.opts
	opts.Limits = f.limits
	var file, meta *os.File
	defer func() {
		for _, x := range []*os.File{file, meta} {
			if x != nil {
				x.Close()
			}
		}
	}()
	for _, rel := range up.files {
		x, err := os.Open(filepath.Join(f.dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("opening upload %s: %w", id, err)
		}
		if strings.HasSuffix(rel, "/"+keptMetadata) {
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
	f.log.Info("upload parsed again", "id", id, "items", ds.Len(), "duration", time.Since(start))
	return ds, nil
}
