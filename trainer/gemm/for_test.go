package gemm

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// counts records how often each row was visited.
type counts struct{ seen []atomic.Int32 }

func (c *counts) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.seen[i].Add(1)
	}
}

// TestFor: every row is done exactly once, however many threads and rows,
// and a warm call allocates nothing.
func TestFor(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{1, 2, 4} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 7, 64, 1000} {
			for _, minRows := range []int{0, 1, 16, 2000} {
				c := &counts{seen: make([]atomic.Int32, n)}
				For(n, minRows, c)
				for i := range c.seen {
					if got := c.seen[i].Load(); got != 1 {
						t.Fatalf("threads %d, n %d, minRows %d: row %d done %d times", threads, n, minRows, i, got)
					}
				}
			}
		}
	}
	SetThreads(runtime.GOMAXPROCS(0))
	c := &counts{seen: make([]atomic.Int32, 4096)}
	For(4096, 64, c)
	if a := testing.AllocsPerRun(50, func() { For(4096, 64, c) }); a != 0 {
		t.Errorf("a warm For allocates %v times", a)
	}
}
