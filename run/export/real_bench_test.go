package export_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/projection"
	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/export"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// The Real benchmarks export runs really trained (the dataset's default
// settings) and projected (PCA 2D, as the server's Live projector does
// frame after frame), rather than made-up ones: their frames spread and
// compress as a user's do. Training is done once, outside the timing.

var realRuns sync.Map // name -> *export.Run

// realRun trains d for epochs epochs and projects every epoch.
func realRun(b *testing.B, key string, d *dataset.Dataset, epochs int) *export.Run {
	b.Helper()
	if r, ok := realRuns.Load(key); ok {
		return r.(*export.Run)
	}
	start := time.Now()
	cfg := trainer.DefaultConfigFor(d)
	cfg.Epochs = epochs
	tr, err := trainer.New(cfg, d)
	if err != nil {
		b.Fatal(err)
	}
	ch, _ := tr.Subscribe(epochs + 1)
	if err := tr.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	live, err := projection.NewLive(projection.LiveOptions{Method: projection.MethodPCA, Dims: 2, QualitySample: -1})
	if err != nil {
		b.Fatal(err)
	}
	h := &history{}
	n := d.Len()
	for e := range ch {
		f, err := live.Next(context.Background(), e.Embeddings, n, e.Dim)
		if err != nil {
			b.Fatal(err)
		}
		m := run.EncodeMetrics(e.Metrics)
		h.epochs = append(h.epochs, run.EpochRecord{Epoch: e.Epoch, Metrics: m, Embeddings: e.Embeddings, Dim: e.Dim})
		h.frames = append(h.frames, run.FrameRecord{Epoch: e.Epoch, Method: run.MethodPCA, Dims: 2, Coords: f.Coords, Metrics: m, Sent: time.Now()})
	}
	r := &export.Run{ID: key, Config: run.Config{Config: tr.Config(), Projection: run.MethodPCA, Dims: 2}, Data: d, Newest: epochs, Source: h}
	b.Logf("trained and projected %s: %d items, %d epochs in %.1f s", key, n, epochs, time.Since(start).Seconds())
	realRuns.Store(key, r)
	return r
}

func fashion(b *testing.B) *dataset.Dataset {
	d, err := sampledata.Load("fashion")
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkRealAnimation: the GIF of a real 50-epoch Fashion-MNIST run
// (12,000 points, 800×600, 3 in-between frames: 197 frames).
func BenchmarkRealAnimation(b *testing.B) {
	benchExport(b, realRun(b, "fashion50", fashion(b), 50), export.Request{Format: "animation.gif"}, true)
}

// BenchmarkRealScatterPNG: the map of the last epoch of that run (12,000
// points).
func BenchmarkRealScatterPNG(b *testing.B) {
	benchExport(b, realRun(b, "fashion50", fashion(b), 50), export.Request{Format: "scatter.png", Epoch: 50}, false)
}

// BenchmarkRealProjectorBundle: the Embedding Projector bundle of a real
// one-epoch run on 72,000 images: Fashion-MNIST's 12,000 six times, each
// copy's ink with its own light noise (no bundled dataset has 70,000 items).
func BenchmarkRealProjectorBundle(b *testing.B) {
	base := fashion(b)
	const copies = 6
	n := base.Len() * copies
	d := *base
	d.Name, d.X, d.Labels, d.Splits = "fashion72k", make([]float32, 0, n*base.Dim), make([]int32, 0, n), make([]dataset.Split, 0, n)
	for c := range copies {
		for i, v := range base.X {
			if v > 0 { // the ink varies; the paper stays blank
				v = min(1, v+float32((i*7919+c*104729)%97)/97*0.05)
			}
			d.X = append(d.X, v)
		}
		d.Labels = append(d.Labels, base.Labels...)
		d.Splits = append(d.Splits, base.Splits...)
	}
	d.Text = nil
	benchExport(b, realRun(b, "fashion72k", &d, 1), export.Request{Format: "projector.zip", Epoch: 1}, true)
}
