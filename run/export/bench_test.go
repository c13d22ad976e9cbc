package export_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/contrastive-explorer/explorer/run/export"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// benchExport times export req of r, and reports the file's size in MB
// when withSize.
func benchExport(b *testing.B, r *export.Run, req export.Request, withSize bool) {
	b.Helper()
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := export.Write(context.Background(), &buf, r, req); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	if withSize {
		b.ReportMetric(float64(size)/1e6, "MB")
	}
}

// BenchmarkAnimation renders the GIF of a 50-epoch Fashion-MNIST run
// (12,000 points, 800×600, 3 in-between frames: 197 frames).
func BenchmarkAnimation(b *testing.B) {
	benchExport(b, fakeRun(b, "fashion", 50, 2), export.Request{Format: "animation.gif"}, true)
}

// BenchmarkScatterPNG draws the map of one 12,000-point epoch.
func BenchmarkScatterPNG(b *testing.B) {
	benchExport(b, fakeRun(b, "fashion", 1, 2), export.Request{Format: "scatter.png", Epoch: 1}, false)
}

// BenchmarkProjectorBundle exports the Embedding Projector bundle of a
// 70,000-item image run (28×28, 32 dimensions): vectors, metadata, sprite.
func BenchmarkProjectorBundle(b *testing.B) {
	const n, dim = 70_000, 32
	d := &dataset.Dataset{Kind: dataset.Images, Width: 28, Height: 28, Dim: 784, X: make([]float32, n*784),
		Labels: make([]int32, n), Splits: make([]dataset.Split, n), ClassNames: []string{"a"}}
	for i := range d.X {
		d.X[i] = float32(i%255) / 255
	}
	r := fakeRun(b, "digits", 0, 2)
	h := r.Source.(*history)
	h.epochs[0].Embeddings, h.epochs[0].Dim = make([]float32, n*dim), dim
	for i := range h.epochs[0].Embeddings {
		h.epochs[0].Embeddings[i] = float32(i%1000) / 1000
	}
	r.Data = d
	benchExport(b, r, export.Request{Format: "projector.zip", Epoch: 0}, true)
}
