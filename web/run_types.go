package web

import (
	"context"

	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// State is where a run is in its life, as the API and the websocket name it.
type State string

// The states of a run. A queued run waits for a training slot (see
// Options.MaxRuns); done, stopped and failed are final.
const (
	StateQueued  State = "queued"
	StateRunning State = "running"
	StatePaused  State = "paused"
	StateDone    State = "done"
	StateStopped State = "stopped"
	StateFailed  State = "failed"
)

// Final reports whether s is an end state: done, stopped or failed.
func (s State) Final() bool { return s == StateDone || s == StateStopped || s == StateFailed }

// Projection methods, as the API names them.
const (
	MethodPCA  = "pca"
	MethodTSNE = "tsne"
)

// RunConfig is everything that defines a run: the trainer's configuration
// and how its epochs are projected for display.
type RunConfig struct {
	trainer.Config
	Projection string `json:"projection"` // MethodPCA or MethodTSNE
	Dims       int    `json:"dims"`       // 2 or 3
}

// ProjectionJSON is a run's projection in the run summary.
type ProjectionJSON struct {
	Method string `json:"method"`
	Dims   int    `json:"dims"`
}

// RunSummary is the JSON the API answers about a run.
type RunSummary struct {
	ID            string         `json:"id"`
	URL           string         `json:"url"` // the run page
	State         State          `json:"state"`
	QueuePosition int            `json:"queue_position"` // 1 = next to start; 0 when not queued
	Epoch         int            `json:"epoch"`          // newest epoch trained, 0 before the first
	Epochs        int            `json:"epochs"`         // epochs configured
	Config        trainer.Config `json:"config"`         // with the defaults filled in
	Projection    ProjectionJSON `json:"projection"`
	Viewers       int            `json:"viewers"` // open websockets
	Error         string         `json:"error,omitempty"`
}

// Trainer is what a run needs from one training: *trainer.Run satisfies it.
// Run blocks until training ends; Subscribe must be called before Run to see
// epoch 0. The other methods may be called from any goroutine.
type Trainer interface {
	Run(ctx context.Context) error
	Subscribe(buffer int) (<-chan trainer.Epoch, func())
	Pause()
	Resume()
	Step()
	ExamplePairs(n int) []trainer.PairExample
	Config() trainer.Config
}

// TrainerFactory makes the Trainer of a new run. It returns a
// *trainer.FieldError for a configuration the dataset cannot train with.
type TrainerFactory func(cfg trainer.Config, d *dataset.Dataset) (Trainer, error)

// newTrainer is the production TrainerFactory.
func newTrainer(cfg trainer.Config, d *dataset.Dataset) (Trainer, error) {
	return trainer.New(cfg, d)
}

// Projected is one projected epoch: n×Dims coordinates in dataset order and
// the figures that say how faithful the picture is (0 when not computed).
type Projected struct {
	Coords          []float32
	Dims            int
	Method          string
	KL              float64
	Trustworthiness float64
	KNNPreservation float64
	Seconds         float64
}

// Projector turns a run's successive epochs into frames, each continuing
// from the previous one so that the animation shows real movement. One
// Projector serves one run in one number of dimensions; its calls never
// overlap.
type Projector interface {
	Project(ctx context.Context, x []float32, n, d int) (Projected, error)
	// SetMethod switches to MethodPCA or MethodTSNE from the next frame on,
	// keeping the picture continuous.
	SetMethod(method string) error
}

// ProjectorFactory makes a Projector for a method (MethodPCA or MethodTSNE),
// 2 or 3 dimensions and a seed.
type ProjectorFactory func(method string, dims int, seed uint64) (Projector, error)
