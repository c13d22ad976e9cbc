package web

import (
	"testing"

	"github.com/contrastive-explorer/explorer/web/leakcheck"
)

// TestMain fails the tests when any goroutine they started is still running
// after them (see leakcheck.Main).
func TestMain(m *testing.M) { leakcheck.Main(m) }
