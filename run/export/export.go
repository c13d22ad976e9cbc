// Package export writes what the explorer shows of a run as files for use
// outside it: coordinates and metrics of every epoch (CSV, JSON), the
// embeddings of an epoch (TSV), a TensorFlow Embedding Projector bundle,
// figures drawn with gonum/plot (PNG, SVG) and an animated GIF of the
// epochs. It knows no HTTP: the web server and the CLI give it a Run, read
// from wherever they keep runs, and a writer.
package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Source is where an export reads a run's history: its stored frames (in
// the run's projection) and epochs (embeddings and metrics).
type Source interface {
	Frames(ctx context.Context, from int) ([]run.FrameRecord, error)
	Epoch(ctx context.Context, e int) (run.EpochRecord, error)
	// Checkpoint returns the run's newest checkpoint and its epoch, or an
	// error wrapping run.ErrNotFound when it has none.
	Checkpoint(ctx context.Context) (epoch int, state []byte, err error)
}

// Run is the run an export is of.
type Run struct {
	ID     string
	Config run.Config // the dataset's id as the asker may see it
	Data   *dataset.Dataset
	Newest int // the newest epoch trained, -1 before the first
	Source Source
}

// Title names the run in figures: the dataset's title and the loss.
func (r *Run) Title() string {
	t := r.Data.Title
	if t == "" {
		t = r.Config.Dataset
	}
	return t + " · " + r.Config.Loss
}

// Format is one kind of export.
type Format struct {
	Name        string // as the API and CLI name it, e.g. "coords.csv"
	ContentType string
	Title       string // for a menu
	PerEpoch    bool   // of one epoch (Request.Epoch); else of the whole run
}

// Formats lists every export, in menu order.
var Formats = []Format{
	{"projector.zip", "application/zip", "Embedding Projector bundle (vectors, metadata, sprite, config)", true},
	{"coords.csv", "text/csv; charset=utf-8", "Coordinates of every epoch (CSV)", false},
	{"coords.json", "application/json", "Coordinates of every epoch (JSON)", false},
	{"vectors.tsv", "text/tab-separated-values; charset=utf-8", "Embeddings of the epoch (TSV)", true},
	{"metadata.tsv", "text/tab-separated-values; charset=utf-8", "Labels, splits and texts of the items (TSV)", false},
	{"metrics.csv", "text/csv; charset=utf-8", "Metrics of every epoch (CSV)", false},
	{"metrics.json", "application/json", "Metrics of every epoch (JSON)", false},
	{"scatter.png", "image/png", "Map of the epoch (PNG)", true},
	{"scatter.svg", "image/svg+xml", "Map of the epoch (SVG)", true},
	{"curves.png", "image/png", "Metric curves (PNG)", false},
	{"curves.svg", "image/svg+xml", "Metric curves (SVG)", false},
	{"animation.gif", "image/gif", "Animation of the epochs (GIF)", false},
	{"model.safetensors", "application/octet-stream", "Trained encoder (safetensors, for explorer embed)", false},
}

// ModelFormat is the trained encoder's export, which a run of finished
// embeddings does not have.
const ModelFormat = "model.safetensors"

// FormatOf returns the format named name.
func FormatOf(name string) (Format, bool) {
	i := slices.IndexFunc(Formats, func(f Format) bool { return f.Name == name })
	if i < 0 {
		return Format{}, false
	}
	return Formats[i], true
}

// FormatNames lists the formats' names, for messages.
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Request is what to export.
type Request struct {
	Format string
	Epoch  int // for PerEpoch formats; -1 for the newest
	// Progress, when not nil, is told how far a long export (the
	// animation) has come: done of total steps.
	Progress func(done, total int)
}

// FileName is the name to save an export as: the run's id, the epoch for
// one epoch, and the format's name.
func FileName(r *Run, f Format, epoch int) string {
	if f.PerEpoch {
		return fmt.Sprintf("run-%s-epoch-%d-%s", r.ID, epoch, f.Name)
	}
	return fmt.Sprintf("run-%s-%s", r.ID, f.Name)
}

// Write writes the export req asks for of r to w. It returns a
// *run.Error (Invalid, NotFound) for a request that cannot be met.
func Write(ctx context.Context, w io.Writer, r *Run, req Request) error {
	f, ok := FormatOf(req.Format)
	if !ok {
		return run.Errorf(run.Invalid, "format", "unknown export %q (want one of %s)", req.Format, FormatNames())
	}
	if r.Newest < 0 {
		return run.Errorf(run.NotFound, "", "the run has no epoch to export yet")
	}
	epoch := req.Epoch
	if f.PerEpoch {
		if epoch < 0 {
			epoch = r.Newest
		}
		if epoch > r.Newest {
			return run.Errorf(run.NotFound, "epoch", "epoch %d has not been trained yet (the newest is %d)", epoch, r.Newest)
		}
	}
	switch f.Name {
	case "projector.zip":
		return writeProjector(ctx, w, r, epoch)
	case "coords.csv":
		return writeCoordsCSV(ctx, w, r)
	case "coords.json":
		return writeCoordsJSON(ctx, w, r)
	case "vectors.tsv":
		return writeVectors(ctx, w, r, epoch)
	case "metadata.tsv":
		return WriteMetadata(w, r.Data)
	case "metrics.csv":
		return writeMetricsCSV(ctx, w, r)
	case "metrics.json":
		return writeMetricsJSON(ctx, w, r)
	case "scatter.png", "scatter.svg":
		return writeScatter(ctx, w, r, epoch, strings.TrimPrefix(f.Name, "scatter."))
	case "curves.png", "curves.svg":
		return writeCurves(ctx, w, r, strings.TrimPrefix(f.Name, "curves."))
	case "animation.gif":
		return writeAnimation(ctx, w, r, AnimationOptions{Progress: req.Progress})
	case "model.safetensors":
		return writeModel(ctx, w, r)
	}
	return fmt.Errorf("export: format %s has no writer", f.Name)
}

// frames returns the run's frames, one per epoch in epoch order.
func (r *Run) frames(ctx context.Context) ([]run.FrameRecord, error) {
	fs, err := r.Source.Frames(ctx, 0)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, run.Errorf(run.NotFound, "", "the run has no projected epoch yet")
	}
	return fs, nil
}

// frame returns the run's frame of epoch e.
func (r *Run) frame(ctx context.Context, e int) (run.FrameRecord, error) {
	fs, err := r.Source.Frames(ctx, e)
	if err != nil {
		return run.FrameRecord{}, err
	}
	if len(fs) == 0 || fs[0].Epoch != e {
		return run.FrameRecord{}, run.Errorf(run.NotFound, "epoch", "epoch %d has not been projected yet", e)
	}
	return fs[0], nil
}

// metrics decodes the metrics of every epoch, in epoch order.
func (r *Run) metrics(ctx context.Context) ([]epochMetrics, error) {
	out := make([]epochMetrics, 0, r.Newest+1)
	for e := 0; e <= r.Newest; e++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Source.Epoch(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("reading epoch %d: %w", e, err)
		}
		m := epochMetrics{Epoch: e}
		if err := json.Unmarshal(rec.Metrics, &m.Metrics); err != nil {
			return nil, fmt.Errorf("decoding the metrics of epoch %d: %w", e, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// epochMetrics is one epoch's metrics as metrics.json holds them.
type epochMetrics struct {
	Epoch int `json:"epoch"`
	run.Metrics
}
