package trainer

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/trainer/gemm"
)

// peakHeapGrowth returns how far the heap's objects (live ones and dead
// ones not yet swept) rose above their level before f while it ran,
// sampled every 100µs.
func peakHeapGrowth(f func()) int64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	base := read()
	stop, peak := make(chan struct{}), make(chan int64)
	go func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		hi := base
		for {
			hi = max(hi, read())
			select {
			case <-stop:
				peak <- max(hi, read())
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	return <-peak - base
}

// warmGemm grows package gemm's packing buffers, the callers' and the
// worker's, to their largest, so that a measurement does not count them
// (MemoryEstimate leaves them out: all runs share them).
func warmGemm() {
	const m, k, n = 144, 256, 8192 // one block of A; B in two blocks of the widest
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	gemm.SetThreads(1)
	for range 16 { // every idle call's buffers, serially
		gemm.Sgemm(false, false, m, n/2, k, 1, a, k, b, n, 0, c, n)
	}
	gemm.SetThreads(0)
	gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) // the worker's, in half of it
	// A split call keeps its operands referenced until the next split call
	// (the recycled call's tasks hold them), which would free them in the
	// middle of a measurement: replace them with small ones.
	const s = 128 // 2s×s×s is the least work that is split
	x := make([]float32, 2*s*s)
	gemm.Sgemm(false, false, 2*s, s, s, 1, x, s, x[:s*s], s, 0, make([]float32, 2*s*s), s)
}

// TestMemoryEstimate runs configurations of very different shapes and
// checks that MemoryEstimate is at least the peak heap growth they cause
// and at most three times it. The collector runs at GOGC=1 meanwhile, so
// that the peak is close to the live bytes rather than to however much
// garbage a lazier collector lets pile up, which MemoryEstimate leaves to
// the caller.
func TestMemoryEstimate(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	warmGemm()
	cfgOf := func(edit func(*Config)) Config {
		cfg := DefaultConfig()
		cfg.Epochs = 1
		edit(&cfg)
		return cfg
	}
	for _, c := range []struct {
		name string
		cfg  Config
		data func() *dataset.Dataset // made when the case runs, so that the others' do not weigh on the collector
	}{
		{"default/digits", cfgOf(func(c *Config) { c.Epochs = 3 }), func() *dataset.Dataset { return digits(t) }},
		{"batch 2048", cfgOf(func(c *Config) { c.Batch, c.Hidden = 2048, []int{64} }), func() *dataset.Dataset { return blobs(3000, 32, 10, 1) }},
		{"hidden 1024x3", cfgOf(func(c *Config) { c.Hidden = []int{1024, 1024, 1024} }), func() *dataset.Dataset { return blobs(1000, 64, 10, 2) }},
		{"dim 128", cfgOf(func(c *Config) { c.Dim, c.Hidden, c.Epochs = 128, []int{64}, 2 }), func() *dataset.Dataset { return blobs(8000, 16, 10, 3) }},
		{"wordnet/labels", cfgOf(func(c *Config) {}), func() *dataset.Dataset { return bundled(t, "wordnet") }},
		{"glosses/augment", cfgOf(func(c *Config) { c.Pairs, c.Optimizer = PairsAugment, "sgd" }), func() *dataset.Dataset { return glosses(3000, 1<<14) }},
		{"plays/cooccur", cfgOf(func(c *Config) { c.Pairs, c.Batch = PairsCooccur, 128 }), func() *dataset.Dataset { return plays(1500, 1500) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.data()
			est := c.cfg.MemoryEstimate(d)
			var last Epoch
			measure := func() int64 {
				return peakHeapGrowth(func() {
					r := mustNew(t, c.cfg, d)
					r.EnableCheckpoints()
					if err := r.Run(context.Background()); err != nil {
						t.Fatal(err)
					}
					last, _ = r.Latest()
				})
			}
			// A peak is a sample of timing as well as of the run: a collector
			// starved of CPU (the other packages' tests run meanwhile) leaves an
			// epoch's garbage unswept for longer, and a starved sampler misses
			// the top. So a figure outside the bounds is taken again, twice at
			// most, and the case fails only if every figure is outside them.
			got := measure()
			for try := 0; try < 2 && (got > est || est > 3*got); try++ {
				again := measure()
				t.Logf("peak %.1f MiB out of bounds, measured again: %.1f MiB", mib(got), mib(again))
				if got > est {
					again = min(got, again)
				} else {
					again = max(got, again)
				}
				got = again
			}
			parts := c.cfg.memoryParts(d)
			t.Logf("estimate %.1f MiB, measured %.1f MiB: ratio %.2f", mib(est), mib(got), float64(est)/float64(got))
			for _, p := range parts {
				t.Logf("  %-14s %8.2f MiB", p.what, mib(p.bytes))
				if p.what == "checkpoints" && p.bytes != 3*int64(len(last.Checkpoint)) {
					t.Errorf("checkpoints of %d bytes estimated, %d encoded", p.bytes/3, len(last.Checkpoint))
				}
			}
			if got > est || est > 3*got {
				t.Errorf("estimate %d bytes for a peak of %d (ratio %.2f), want within [1, 3]", est, got, float64(est)/float64(got))
			}
		})
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// TestMemoryEstimateInvalid: a configuration Validate refuses still gets a
// positive estimate rather than a panic.
func TestMemoryEstimateInvalid(t *testing.T) {
	for _, d := range []*dataset.Dataset{blobs(50, 4, 2, 1), glosses(50, 1<<10)} {
		for _, cfg := range []Config{{}, {Loss: "nope", Pairs: "nope", Batch: -3, Dim: -1, Hidden: []int{-2, 0}, Embed: -4, Optimizer: "x"}} {
			if est := cfg.MemoryEstimate(d); est <= 0 {
				t.Errorf("%s %+v: estimate %d", d.Name, cfg, est)
			}
		}
	}
}
