package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/contrastive-explorer/explorer/web/leakcheck"
)

// childArgsEnv, when set, makes the test binary the explorer itself, run
// with the JSON-encoded arguments it holds: the crash tests start it as a
// child process they can kill.
const childArgsEnv = "EXPLORER_TEST_CHILD_ARGS"

// TestMain fails the tests when any goroutine they started is still running
// after them (see leakcheck.Main), or runs the explorer as a child process
// (childArgsEnv).
func TestMain(m *testing.M) {
	if v := os.Getenv(childArgsEnv); v != "" {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childArgsEnv, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "explorer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	leakcheck.Main(m)
}
