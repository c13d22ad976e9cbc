package runner_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/run/sqlite"
	"github.com/contrastive-explorer/explorer/trainer"
)

// BenchmarkStoreWriteCost measures what keeping a run in SQLite costs its
// training: the real trainer on Fashion-MNIST (default model, 6 epochs,
// checkpoints on), its epochs recorded in memory (A) or in SQLite (B),
// interleaved A B A B A B in one invocation. It reports the median wall
// time per trained epoch of each side and their ratio (target ≤ 1.05).
// Projection is PCA, as in the page's default.
func BenchmarkStoreWriteCost(b *testing.B) {
	ctx := context.Background()
	ds, err := bundled{}.Dataset(ctx, "fashion")
	if err != nil {
		b.Fatal(err)
	}
	cfg := trainer.DefaultConfig()
	cfg.Dataset, cfg.Epochs = "fashion", 6
	rc := run.Config{Config: cfg, Projection: run.MethodPCA, Dims: 2}
	perEpoch := func(store run.Store) time.Duration {
		mctx, cancel := context.WithCancel(ctx)
		m, err := runner.New(mctx, runner.Options{Store: store, Datasets: bundled{}, MaxRuns: 1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		defer func() { cancel(); m.Wait() }()
		r, _, err := m.Create(ctx, "", rc, ds)
		if err != nil {
			b.Fatal(err)
		}
		var start time.Time
		for {
			s := r.Summary()
			if start.IsZero() && s.Epoch >= 1 {
				start = time.Now() // epoch 0 (setup, untrained) not counted
			}
			if s.State == run.Done {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start) / time.Duration(cfg.Epochs-1)
	}
	var mem, lite []time.Duration
	for b.Loop() {
		for round := range 3 {
			mem = append(mem, perEpoch(memory.New()))
			dir := b.TempDir()
			st, err := sqlite.Open(ctx, filepath.Join(dir, "explorer.db"))
			if err != nil {
				b.Fatal(err)
			}
			lite = append(lite, perEpoch(st))
			st.Close()
			load, _ := os.ReadFile("/proc/loadavg")
			b.Logf("round %d: memory %v, sqlite %v per epoch, load %s", round, mem[len(mem)-1], lite[len(lite)-1], load)
		}
	}
	median := func(d []time.Duration) time.Duration { d = slices.Clone(d); slices.Sort(d); return d[len(d)/2] }
	b.ReportMetric(median(mem).Seconds(), "memory-s/epoch")
	b.ReportMetric(median(lite).Seconds(), "sqlite-s/epoch")
	b.ReportMetric(median(lite).Seconds()/median(mem).Seconds(), "ratio")
}
