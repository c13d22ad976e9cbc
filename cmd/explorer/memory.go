package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The server's memory target. The Go collector lets the heap grow to twice
// what is live before it collects (GOGC=100): a server holding 500 MB of
// training state would sit at 1 GB. Under a memory target it collects
// sooner, so the process stays near the target while what is live fits
// well under it; when what is live needs more, the limit follows it with
// headroom, so a heavy workload never makes the collector run back to back
// (the worst a soft limit can do).
const (
	defaultMemoryTargetMB = 800
	// liveHeadroom is the heap allowed above what is live once the target
	// is too small for it: the collector then works as with GOGC=25. What
	// the explorer holds is mostly large slices of numbers the collector
	// does not scan, and it allocates little while it trains, so that
	// costs little: in the RSS benchmark (docs/benchmarks.md) a
	// collection of a 700 MB heap took 5-30 ms, one every 10-60 s.
	liveHeadroom = 0.25
	// memoryCheckEvery is how often the limit is brought up to date.
	memoryCheckEvery = time.Second
)

// memoryLimit is the soft limit for a live heap of live bytes under a
// target of target bytes.
func memoryLimit(target, live int64) int64 {
	return max(target, live+int64(float64(live)*liveHeadroom))
}

// liveHeap reads the bytes the last collection found live.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// keepMemoryTarget holds the runtime's soft memory limit at memoryLimit
// until ctx ends, then restores the limit it found. It does nothing when
// target is 0 or GOMEMLIMIT is set (the operator's limit wins). live reads
// the live heap (liveHeap; tests pass their own).
func keepMemoryTarget(ctx context.Context, target int64, live func() int64) (stop func()) {
	if target <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	before := debug.SetMemoryLimit(-1)
	set := func() { debug.SetMemoryLimit(memoryLimit(target, live())) }
	set()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(memoryCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				set()
			}
		}
	}()
	return func() {
		cancel()
		<-done
		debug.SetMemoryLimit(before)
	}
}
