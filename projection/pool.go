package projection

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool runs parallel loops over a fixed set of goroutines. Between loops the
// workers block on a channel; within a loop they take chunks from an atomic
// counter, so load balances without spinning. The goroutine that calls run
// works too. A pool is owned by the function that made it, which must call
// close.
type pool struct {
	workers int // goroutines besides the caller
	wake    chan struct{}
	wg      sync.WaitGroup
	fn      func(chunk int)
	chunks  int64
	next    atomic.Int64
}

// newPool starts a pool that uses threads goroutines in all (the caller
// included); threads <= 0 means GOMAXPROCS.
func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &pool{workers: threads - 1, wake: make(chan struct{})}
	for range p.workers {
		go p.loop()
	}
	return p
}

func (p *pool) loop() {
	for range p.wake {
		p.drain()
		p.wg.Done()
	}
}

// yieldEvery is how long a worker computes before it lets waiting
// goroutines in. A t-SNE frame keeps both cores busy for seconds; the
// server's websocket writers need the CPU for microseconds at a time and
// would otherwise wait for the scheduler's 10 ms preemption: with 300
// viewers of a t-SNE run, yielding took the p99 of frame delivery from
// 101 to 54 ms (docs/benchmarks.md, "Viewers at scale").
const yieldEvery = 500 * time.Microsecond

func (p *pool) drain() {
	last := time.Now()
	for {
		c := p.next.Add(1) - 1
		if c >= p.chunks {
			return
		}
		p.fn(int(c))
		if time.Since(last) >= yieldEvery {
			runtime.Gosched()
			last = time.Now()
		}
	}
}

// run calls fn(c) for every c in [0, chunks) across the pool and returns
// when all calls have returned. fn must be safe to call concurrently for
// distinct chunks. Passing a method value kept in a field avoids an
// allocation per call.
func (p *pool) run(chunks int, fn func(chunk int)) {
	if chunks <= 0 {
		return
	}
	if p.workers == 0 || chunks == 1 {
		for c := range chunks {
			fn(c)
		}
		return
	}
	p.fn = fn
	p.chunks = int64(chunks)
	p.next.Store(0)
	w := min(p.workers, chunks-1)
	p.wg.Add(w)
	for range w {
		p.wake <- struct{}{}
	}
	p.drain()
	p.wg.Wait()
	p.fn = nil
}

// close stops the workers. The pool must not be used afterwards.
func (p *pool) close() { close(p.wake) }

// span returns the half-open range of items [lo, hi) of chunk c when n items
// are cut into chunks of size per.
func span(c, per, n int) (lo, hi int) {
	lo = c * per
	return lo, min(lo+per, n)
}

// chunksOf returns how many chunks of size per cover n items.
func chunksOf(n, per int) int { return (n + per - 1) / per }
