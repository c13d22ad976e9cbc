// Package group owns goroutines for a server: the training, collecting and
// projecting goroutines of every run (run/runner) and the handlers of open
// websockets (web).
package group

import "sync"

// Group owns goroutines. Once closed it starts nothing more, and
// CloseAndWait returns when everything it started has returned. (A
// sync.WaitGroup cannot refuse a late Add racing with Wait; this can.) The
// zero value is not usable: call New.
type Group struct {
	mu     sync.Mutex
	idle   *sync.Cond
	n      int
	closed bool
}

// New returns an open group.
func New() *Group {
	g := &Group{}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// Enter counts the caller as running, or reports false after close.
func (g *Group) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// Leave ends what Enter began.
func (g *Group) Leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// Go runs f in a new goroutine owned by the group, or reports false
// (running nothing) after close.
func (g *Group) Go(f func()) bool {
	if !g.Enter() {
		return false
	}
	go func() {
		defer g.Leave()
		f()
	}()
	return true
}

// CloseAndWait refuses new goroutines and waits for the running ones.
func (g *Group) CloseAndWait() {
	g.mu.Lock()
	g.closed = true
	for g.n > 0 {
		g.idle.Wait()
	}
	g.mu.Unlock()
}
