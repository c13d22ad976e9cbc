package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parMinWork is the smallest m·n·k a goroutine is given when a product is
// split: below it, waking a worker (several µs on a VM, more when the
// shared cores are busy) costs more than it saves. On the 2-core AVX2
// machine, BenchmarkCrossover gains from two goroutines at 256×128×128
// (4 M) and above; at 2 M (256×32×256, 256×256×32) the best case gains but
// the median on a busy machine loses, so those stay on one goroutine.
const parMinWork = 1 << 21

// threadLimit is the value given to SetThreads; 0 means runtime.GOMAXPROCS.
var threadLimit atomic.Int64

// SetThreads limits Sgemm to at most n goroutines per call (n <= 0 restores
// the default, runtime.GOMAXPROCS(0)). The effective count never exceeds
// GOMAXPROCS. Idle workers beyond the new limit are stopped, so
// SetThreads(1) leaves no gemm goroutines running; a worker busy with a task
// stops when it is done, and SetThreads waits for it. It is safe to call
// concurrently with Sgemm; calls already running keep their split.
func SetThreads(n int) {
	threadLimit.Store(int64(max(n, 0)))
	workers.shrink(Threads() - 1)
}

// Threads reports how many goroutines a large Sgemm call may use: the
// SetThreads limit capped by runtime.GOMAXPROCS(0).
func Threads() int {
	t := runtime.GOMAXPROCS(0)
	if l := int(threadLimit.Load()); l > 0 && l < t {
		t = l
	}
	return t
}

// task is one part of a split call. state arbitrates who runs it: the
// worker that receives it or, if no worker has started it by the time the
// caller has finished its own part, the caller. So a caller never waits on
// a part queued behind another caller's work.
type task struct {
	problem
	state atomic.Int32 // 0 pending, 1 taken
	wg    *sync.WaitGroup

	// A part of a For call instead of a product: rows [lo, hi) of r.
	r      Ranger
	lo, hi int
}

// do runs the task's part, with w for a product's packing.
func (t *task) do(w *buffers) {
	if t.r != nil {
		t.r.Range(t.lo, t.hi)
		return
	}
	t.serial(w)
}

// call is the per-call state; calls are recycled through freeCalls so warm
// Sgemm calls allocate nothing.
type call struct {
	buf   buffers
	wg    sync.WaitGroup
	tasks []task
}

// freeCalls holds idle calls. A buffered channel rather than sync.Pool: its
// contents survive garbage collection, so a warm caller never repacks into
// fresh memory. Callers beyond its capacity allocate and drop their call.
var freeCalls = make(chan *call, 16)

func getCall() *call {
	select {
	case c := <-freeCalls:
		return c
	default:
		return new(call)
	}
}

func putCall(c *call) {
	select {
	case freeCalls <- c:
	default:
	}
}

// pool is the set of persistent worker goroutines. They block on jobs (or
// quit) and never spin, since the machine's cores are shared.
type pool struct {
	mu   sync.Mutex
	n    atomic.Int64 // running workers
	jobs chan *task
	quit chan struct{}
}

var workers = pool{
	jobs: make(chan *task, 64),
	quit: make(chan struct{}),
}

// ensure starts workers until at least n are running.
func (p *pool) ensure(n int) {
	if int(p.n.Load()) >= n {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for int(p.n.Load()) < n {
		p.n.Add(1)
		go p.work()
	}
}

// shrink stops workers until at most n are running. A worker busy with a
// task stops after finishing it.
func (p *pool) shrink(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for int(p.n.Load()) > max(n, 0) {
		p.quit <- struct{}{}
		p.n.Add(-1)
	}
}

// work is a worker's loop; its owner is the pool and its stop path is quit.
func (p *pool) work() {
	var w buffers
	for {
		select {
		case t := <-p.jobs:
			if t.state.CompareAndSwap(0, 1) {
				t.do(&w)
				t.wg.Done()
			}
		case <-p.quit:
			return
		}
	}
}

// run computes p, split between goroutines when it is large enough.
func run(p *problem) {
	runParts(p, plan(p))
}

// plan returns how many goroutines p is worth.
func plan(p *problem) int {
	work := p.m * p.n * p.k
	if work < 2*parMinWork {
		return 1
	}
	return min(Threads(), work/parMinWork)
}

// runParts computes p in at most parts pieces: the caller computes the first
// and the workers the others.
func runParts(p *problem, parts int) {
	// Split the larger of m and n: each part repacks the other operand in
	// full, so this keeps the duplicated packing the smaller one.
	alongM := p.m >= p.n
	units := (p.n + nr - 1) / nr
	if alongM {
		units = (p.m + mr - 1) / mr
	}
	parts = min(parts, units)

	c := getCall()
	defer putCall(c)
	if parts <= 1 {
		p.serial(&c.buf)
		return
	}
	if len(c.tasks) < parts {
		c.tasks = make([]task, parts)
	}
	for i := range parts {
		t := &c.tasks[i]
		t.problem = p.part(alongM, i*units/parts, (i+1)*units/parts)
		t.r = nil
	}
	spread(c.tasks[:parts], &c.wg, &c.buf)
}

// spread runs tasks (at least two, filled in): the workers are offered
// all but the first, the caller runs the first and then any a worker has
// not started, so a caller never waits on a part queued behind another
// caller's work; w is the caller's packing buffers.
func spread(tasks []task, wg *sync.WaitGroup, w *buffers) {
	workers.ensure(len(tasks) - 1)
	wg.Add(len(tasks) - 1)
	offered := false
	for i := range tasks {
		t := &tasks[i]
		t.wg = wg
		if i == 0 {
			continue
		}
		t.state.Store(0)
		select {
		case workers.jobs <- t:
			offered = true
		default: // queue full: the caller runs it below
		}
	}
	if offered {
		handOff()
	}
	tasks[0].do(w)
	for i := 1; i < len(tasks); i++ {
		if t := &tasks[i]; t.state.CompareAndSwap(0, 1) {
			t.do(w)
			wg.Done()
		}
	}
	wg.Wait()
}

// handOff lets a goroutine just woken by the caller start at once. The
// runtime queues a goroutine woken by a channel send in the sender's own
// P (its runnext slot), which an idle P takes over only after a wait of its
// own. In BenchmarkWake on the 2-core VM, a worker so woken started a
// median 88–90 µs after the send while the caller computed, and in under
// 1% of rounds before the caller's 80 µs of work were over: a split
// product whose parts take less than that ran both of them on the caller's
// core. Yielding once puts the caller on the global queue instead: the
// worker runs at once on the caller's P, and the other P, woken by the
// send, picks up the caller (8–10 µs median, 98% of rounds overlapped, in
// the same benchmark). With it, 256×128×256 at two threads went from 178 to
// 112–148 µs, and a supcon epoch from 101–110 to 78–83 ms. It is one
// yield per split call, not a spin.
func handOff() { runtime.Gosched() }

// part returns the sub-problem for units [u0, u1) of mr rows (alongM) or nr
// columns of C.
func (p *problem) part(alongM bool, u0, u1 int) problem {
	q := *p
	if alongM {
		i0, i1 := u0*mr, min(u1*mr, p.m)
		q.m = i1 - i0
		q.c = p.c[i0*p.ldc:]
		if p.transA {
			q.a = p.a[i0:]
		} else {
			q.a = p.a[i0*p.lda:]
		}
		return q
	}
	j0, j1 := u0*nr, min(u1*nr, p.n)
	q.n = j1 - j0
	q.c = p.c[j0:]
	if p.transB {
		q.b = p.b[j0*p.ldb:]
	} else {
		q.b = p.b[j0:]
	}
	return q
}

// forCall is a For call's state: like call without the packing buffers,
// so that For never takes (or leaves empty) a product's warm buffers.
type forCall struct {
	wg    sync.WaitGroup
	tasks []task
}

var freeForCalls = make(chan *forCall, 16)

func getForCall() *forCall {
	select {
	case c := <-freeForCalls:
		return c
	default:
		return new(forCall)
	}
}

func putForCall(c *forCall) {
	select {
	case freeForCalls <- c:
	default:
	}
}

// Ranger is work over rows [0, n) that can be cut into ranges done in any
// order, by any goroutine: For calls Range on each. A pointer to a struct
// kept from call to call makes For allocate nothing.
type Ranger interface {
	Range(lo, hi int)
}

// For runs r over rows [0, n) on the same workers as the products (so
// within the Threads limit, and never spinning): cut into at most
// Threads() ranges of at least minRows rows each, the caller doing the
// first and, if no worker has started them by then, the others. It returns
// when every range is done.
func For(n, minRows int, r Ranger) {
	parts := min(Threads(), n/max(minRows, 1))
	if parts <= 1 {
		if n > 0 {
			r.Range(0, n)
		}
		return
	}
	c := getForCall()
	defer putForCall(c)
	if len(c.tasks) < parts {
		c.tasks = make([]task, parts)
	}
	for i := range parts {
		t := &c.tasks[i]
		t.r, t.lo, t.hi = r, i*n/parts, (i+1)*n/parts
	}
	spread(c.tasks[:parts], &c.wg, nil)
	for i := range parts {
		c.tasks[i].r = nil // let r go
	}
}
