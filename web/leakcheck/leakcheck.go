// Package leakcheck fails a test binary whose tests leave goroutines
// running. It is used from TestMain by the packages that start servers (web
// and cmd/explorer), so a server, websocket or browser left behind by a test
// is a failure, not a slow leak in production.
package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then fails the binary when goroutines started by
// them outlive them: every test must stop its servers (context cancelled,
// then Wait) and close its websockets and browsers, so once the tests have
// passed nothing they started may still run. Goroutines get 30 s to wind
// down (closed connections are noticed asynchronously), so a busy machine
// does not fail the check. Call it from TestMain; it does not return.
func Main(m *testing.M) {
	before := goroutineIDs()
	code := m.Run()
	if code == 0 {
		if leaked := waitForGoroutines(before, 30*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// goroutineIDs returns the ids of the running goroutines.
func goroutineIDs() map[string]bool {
	ids := make(map[string]bool)
	for _, g := range goroutineStacks() {
		ids[goroutineID(g)] = true
	}
	return ids
}

// waitForGoroutines waits until every goroutine but those in before, the
// caller and process-wide ones has ended, and returns the stacks of those still running
// after d, or "".
func waitForGoroutines(before map[string]bool, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		var extra []string
		for i, g := range goroutineStacks() {
			if i > 0 && !before[goroutineID(g)] && !processWide(g) { // stacks[0] is the caller
				extra = append(extra, g)
			}
		}
		if len(extra) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(extra, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processWide reports whether a goroutine belongs to the process rather
// than to a test: trainer/gemm's worker pool, started on first use and
// kept for the next product (gemm.SetThreads(1) stops it).
func processWide(stack string) bool {
	return strings.Contains(stack, "trainer/gemm.(*pool).work")
}

// goroutineStacks returns the stack of every goroutine, the caller's
// first.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range bytes.SplitSeq(bytes.TrimSpace(buf), []byte("\n\n")) {
		out = append(out, string(g))
	}
	return out
}

// goroutineID returns the id in a stack's "goroutine 42 [running]:" header.
func goroutineID(stack string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(stack, "goroutine "), " ")
	return id
}
