package web

import "sync"

// group owns goroutines: the training, collecting and projecting goroutines
// of every run and the handlers of open websockets. Once closed it starts
// nothing more, and wait returns when everything it started has returned.
// (A sync.WaitGroup cannot refuse a late Add racing with Wait; this can.)
type group struct {
	mu     sync.Mutex
	idle   *sync.Cond
	n      int
	closed bool
}

func newGroup() *group {
	g := &group{}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// enter counts the caller as running, or reports false after close.
func (g *group) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// leave ends what enter began.
func (g *group) leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// goFunc runs f in a new goroutine owned by the group, or reports false
// (running nothing) after close.
func (g *group) goFunc(f func()) bool {
	if !g.enter() {
		return false
	}
	go func() {
		defer g.leave()
		f()
	}()
	return true
}

// closeAndWait refuses new goroutines and waits for the running ones.
func (g *group) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	for g.n > 0 {
		g.idle.Wait()
	}
	g.mu.Unlock()
}
