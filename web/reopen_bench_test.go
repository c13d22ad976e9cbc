package web

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/run/sqlite"
	"github.com/contrastive-explorer/explorer/trainer"
)

// BenchmarkReopenStoredRun measures what a late joiner of a finished
// Fashion-MNIST run costs after a restart: a new server on the SQLite
// store rebuilds the run (50 epochs of 12,000 points) and sends its whole
// history (hello, 51 frames encoded, live, done). Target: under 300 ms.
func BenchmarkReopenStoredRun(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "explorer.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const epochs = 50
	cfg := trainer.DefaultConfig()
	cfg.Dataset, cfg.Epochs = "fashion", epochs
	ds, err := datasets.Bundled{}.Load("fashion")
	if err != nil {
		b.Fatal(err)
	}
	n := ds.Len()
	id := "bench0000001"
	if err := st.PutRun(ctx, run.Record{
		ID: id, TokenHash: sha256.Sum256([]byte("t")), Config: run.Config{Config: cfg, Projection: run.MethodTSNE, Dims: 2},
		State: run.Done, Created: time.Now(), Updated: time.Now(),
	}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	metrics := run.EncodeMetrics(trainer.Metrics{Loss: 1, KNNAccuracy: 0.8, HasKNN: true})
	for e := 0; e <= epochs; e++ {
		emb := make([]float32, n*cfg.Dim)
		for i := range emb {
			emb[i] = float32(rng.NormFloat64())
		}
		if err := st.PutEpoch(ctx, id, run.EpochRecord{Epoch: e, Metrics: metrics, Embeddings: emb, Dim: cfg.Dim}); err != nil {
			b.Fatal(err)
		}
		coords := make([]float32, 2*n)
		for i := range coords {
			coords[i] = float32(rng.NormFloat64() * 30)
		}
		if err := st.PutFrame(ctx, id, run.FrameRecord{Epoch: e, Method: run.MethodTSNE, Dims: 2, Coords: coords,
			Metrics: metrics, Sent: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		sctx, cancel := context.WithCancel(ctx)
		s, err := New(sctx, Options{Store: st, DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		r, err := s.runs.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		sub, _, err := s.subscribe(ctx, r, "", 0, runner.View{})
		if err != nil {
			b.Fatal(err)
		}
		msgs, _ := sub.take()
		if len(msgs) != epochs+4 || !msgs[len(msgs)-1].final {
			b.Fatalf("%d messages", len(msgs))
		}
		cancel()
		s.Wait()
	}
}
