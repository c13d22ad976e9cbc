package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	const mb = 1_000_000
	for _, c := range []struct{ target, live, want int64 }{
		{1000 * mb, 0, 1000 * mb},
		{1000 * mb, 400 * mb, 1000 * mb},  // fits: the target holds
		{1000 * mb, 800 * mb, 1000 * mb},  // just fits with headroom
		{1000 * mb, 900 * mb, 1125 * mb},  // needs more: live plus a quarter
		{1000 * mb, 3000 * mb, 3750 * mb}, // never back-to-back collections
		{100 * mb, 100 * mb, 125 * mb},
	} {
		if got := memoryLimit(c.target, c.live); got != c.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", c.target, c.live, got, c.want)
		}
	}
}

// TestKeepMemoryTarget checks that the limit follows the live heap, and
// that stopping restores the limit that was set before.
func TestKeepMemoryTarget(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	var live atomic.Int64
	live.Store(10)
	stop := keepMemoryTarget(context.Background(), 100, live.Load)
	if got := debug.SetMemoryLimit(-1); got != 100 {
		t.Errorf("limit %d at the start, want the target 100", got)
	}
	live.Store(200)
	deadline := time.Now().Add(5 * memoryCheckEvery)
	for debug.SetMemoryLimit(-1) != 250 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got != 250 {
		t.Errorf("limit %d with 200 bytes live, want 250", got)
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after stop, want %d as before", got, before)
	}
}

// TestMemoryTargetDefersToGOMEMLIMIT checks that an operator's GOMEMLIMIT
// is left alone.
func TestMemoryTargetDefersToGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "5GiB")
	before := debug.SetMemoryLimit(-1)
	stop := keepMemoryTarget(context.Background(), 100, func() int64 { return 0 })
	defer stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d with GOMEMLIMIT set, want it untouched (%d)", got, before)
	}
}

func TestLiveHeapReads(t *testing.T) {
	runtime.GC()
	if liveHeap() <= 0 {
		t.Error("no live heap figure from runtime/metrics")
	}
}
