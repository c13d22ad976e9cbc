package memory_test

import (
	"testing"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) run.Store { return memory.New() })
}

func TestQueue(t *testing.T) {
	storetest.RunQueue(t, func(t *testing.T) storetest.Queue { return memory.New() })
}
