package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// keep moves a new upload's spool files into its folder and stores its
// record; on failure nothing of it is left.
func (g *Registry) keep(e *Entry, up Upload) error {
	dir := filepath.Join(g.o.Dir, e.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("upload folder: %w", err)
	}
	moves := [][2]string{{up.File, keptFile}}
	if up.Metadata != "" {
		moves = append(moves, [2]string{up.Metadata, keptMetadata})
	}
	k := e.upload
	for _, m := range moves {
		if err := os.Rename(m[0], filepath.Join(dir, m[1])); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("keeping an upload: %w", err)
		}
		k.files = append(k.files, e.ID+"/"+m[1])
	}
	opts, err := json.Marshal(k.opts)
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("encoding upload options: %w", err)
	}
	rec := run.Upload{
		ID: e.ID, Session: e.Session, FileName: e.Name, Format: e.Format, Options: opts,
		Files: k.files, Bytes: e.Bytes, Info: e.Info, Created: e.Created,
	}
	if err := g.o.Store.PutUpload(context.Background(), rec); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("storing upload %s: %w", e.ID, err)
	}
	return nil
}

// removeFiles deletes an upload's record and folder.
func (g *Registry) removeFiles(id string) error {
	if err := g.o.Store.DeleteUpload(context.Background(), id); err != nil && !errors.Is(err, run.ErrNotFound) {
		return err
	}
	return os.RemoveAll(filepath.Join(g.o.Dir, id))
}

// Restore registers the uploads the store holds, unparsed, and removes
// what an interrupted upload left: spool files, and folders no record
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
	entries, err := os.ReadDir(g.o.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading the uploads folder: %w", err)
	}
	for _, de := range entries {
		name := de.Name()
		stale := strings.HasSuffix(name, ".part") || (de.IsDir() && IsUpload(name) && !known[name])
		if !stale {
			continue
		}
		if err := os.RemoveAll(filepath.Join(g.o.Dir, name)); err != nil {
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
	var file, meta *os.File
	defer func() {
		for _, x := range []*os.File{file, meta} {
			if x != nil {
				x.Close()
			}
		}
	}()
	for _, rel := range k.files {
		x, err := os.Open(filepath.Join(g.o.Dir, filepath.FromSlash(rel)))
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
	g.o.Logger.Info("upload parsed again", "id", id, "items", ds.Len(), "duration", time.Since(start))
	return ds, nil
}
