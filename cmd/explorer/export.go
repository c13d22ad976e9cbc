package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/term"

	domain "github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/export"
)

// runExport is `explorer export RUN`: one of the run page's exports, from
// the runs kept in a data folder, written to a file.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir(), "the server's data `folder`")
	storeAddr := fs.String("store", "", storeFlagHelp)
	format := fs.String("format", "projector.zip", "what to write: "+export.FormatNames())
	epoch := fs.Int("epoch", -1, "the `epoch` of per-epoch exports (projector.zip, vectors.tsv, scatter.*); -1 for the newest")
	out := fs.String("out", "", "the `file` to write (- for standard output); default a name with the run, epoch and format, in the current folder")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: explorer export [flags] RUN")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Write one export of a run kept in the data folder (`explorer runs list` lists them):")
		for _, f := range export.Formats {
			fmt.Fprintf(stderr, "  %-14s %s\n", f.Name, f.Title)
		}
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("export: %v", err)
	}
	if fs.NArg() != 1 {
		return usagef("export: name one run (explorer runs list shows them)")
	}
	f, ok := export.FormatOf(*format)
	if !ok {
		return usagef("export: --format: unknown export %q (want one of %s)", *format, export.FormatNames())
	}
	if *epoch < -1 {
		return usagef("export: --epoch must be -1 (the newest) or more, got %d", *epoch)
	}
	st, err := openKeptStore(ctx, *data, *storeAddr, "export")
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := storedRun(ctx, st, *data, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	e := *epoch
	if f.PerEpoch && e < 0 {
		e = r.Newest
	}
	path := *out
	if path == "" {
		path = export.FileName(r, f, e)
	}
	req := export.Request{Format: f.Name, Epoch: e}
	var bar *exportBar
	if f.Name == "animation.gif" {
		bar = newExportBar(stderr)
		req.Progress = bar.show
	}
	write := func(w io.Writer) error { return export.Write(ctx, w, r, req) }
	if path == "-" {
		err = write(stdout)
	} else {
		err = writeFileAtomic(path, write)
	}
	bar.done()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if path != "-" {
		fmt.Fprintf(stderr, "wrote %s\n", path)
	}
	return nil
}

// storedRun returns the export.Run of run id kept in st, its dataset
// found among the bundled ones or the data folder's uploads.
func storedRun(ctx context.Context, st domain.Store, data, id string) (*export.Run, error) {
	rec, err := st.Run(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("no run %q in %s (explorer runs list shows them)", id, data)
	} else if err != nil {
		return nil, err
	}
	// One upload is parsed, whatever its size: the server's memory budget
	// for uploads (MaxBytes) is the server's.
	reg := datasets.New(datasets.Options{
		Catalog: datasets.Bundled{}, Store: st, Dir: filepath.Join(data, uploadsDir), Files: uploadFiles(st),
		MaxBytes: math.MaxInt64, ReadOnly: true, // a server may be writing the store
	})
	if datasets.IsUpload(rec.Config.Dataset) {
		if err := reg.Restore(ctx); err != nil {
			return nil, err
		}
	}
	d, err := reg.Dataset(ctx, rec.Config.Dataset)
	if err != nil {
		return nil, fmt.Errorf("run %s: its dataset %s: %w", id, rec.Config.Dataset, err)
	}
	src := storeSource{st, id}
	frames, err := st.Frames(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	newest := -1
	for _, f := range frames {
		newest = max(newest, f.Epoch)
	}
	for {
		if _, err := st.Epoch(ctx, id, newest+1); err != nil {
			break
		}
		newest++
	}
	return &export.Run{ID: id, Config: rec.Config, Data: d.Data, Newest: newest, Source: src}, nil
}

// storeSource is a stored run's history as export.Source.
type storeSource struct {
	st domain.Store
	id string
}

func (s storeSource) Frames(ctx context.Context, from int) ([]domain.FrameRecord, error) {
	return s.st.Frames(ctx, s.id, from)
}

func (s storeSource) Epoch(ctx context.Context, e int) (domain.EpochRecord, error) {
	rec, err := s.st.Epoch(ctx, s.id, e)
	if errors.Is(err, domain.ErrNotFound) {
		return rec, domain.Errorf(domain.NotFound, "epoch", "epoch %d of run %s has not been trained", e, s.id)
	}
	return rec, err
}

func (s storeSource) Checkpoint(ctx context.Context) (int, []byte, error) {
	return s.st.Checkpoint(ctx, s.id)
}

// exportBar shows an export's progress on a terminal: a bar redrawn in
// place; nothing elsewhere.
type exportBar struct {
	w     io.Writer
	drawn bool
}

func newExportBar(w io.Writer) *exportBar {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &exportBar{w: w}
	}
	return &exportBar{}
}

func (b *exportBar) show(done, total int) {
	if b == nil || b.w == nil || total <= 0 {
		return
	}
	fmt.Fprintf(b.w, "\r\x1b[Kframes %d/%d %s", done, total, bar(done, total, 30))
	b.drawn = true
}

func (b *exportBar) done() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}
