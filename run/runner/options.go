package runner

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Trainer is what a run needs from one training: *trainer.Run satisfies it.
// Run blocks until training ends; Subscribe must be called before Run to see
// its first epoch. The other methods may be called from any goroutine.
type Trainer interface {
	Run(ctx context.Context) error
	Subscribe(buffer int) (<-chan trainer.Epoch, func())
	Pause()
	Resume()
	Step()
	ExamplePairs(n int) []trainer.PairExample
	Config() trainer.Config
}

// TextEmbedder is a Trainer that can embed a text query with its latest
// weights (*trainer.Run of a text dataset).
type TextEmbedder interface {
	EmbedText(q string) ([]float32, error)
}

// TrainerFactory makes the Trainer of a new run. It returns a
// *trainer.FieldError for a configuration the dataset cannot train with.
type TrainerFactory func(cfg trainer.Config, d *dataset.Dataset) (Trainer, error)

// RestoreFactory makes the Trainer that resumes a run from a checkpoint
// (run.EpochRecord.Checkpoint): its first epoch is the one after the
// checkpoint's.
type RestoreFactory func(cfg trainer.Config, d *dataset.Dataset, checkpoint []byte) (Trainer, error)

// Projected is one projected epoch: n×Dims coordinates in dataset order and
// the figures that say how faithful the picture is.
type Projected struct {
	Coords  []float32
	Dims    int
	Method  string
	Quality run.Quality
}

// Projector turns a run's successive epochs into frames, each continuing
// from the previous one so that the animation shows real movement. One
// Projector serves one run in one number of dimensions; its calls never
// overlap.
type Projector interface {
	Project(ctx context.Context, x []float32, n, d int) (Projected, error)
	// SetMethod switches to run.MethodPCA, MethodTSNE or MethodUMAP from the next
	// frame on, keeping the picture continuous.
	SetMethod(method string) error
	// StartFrom makes the next frame start from layout (n×dims), another
	// run's frame, as if it were the previous one (projection.Live.StartFrom).
	StartFrom(layout []float32, n int) error
	// Trim releases memory kept only to make the next frame faster; the
	// next frame still continues from the last one. It is called when the
	// run has nothing more to project.
	Trim()
}

// ProjectorFactory makes a Projector for a method, 2 or 3 dimensions and a
// seed.
type ProjectorFactory func(method string, dims int, seed uint64) (Projector, error)

// Datasets finds the dataset a stored run was trained on, whoever owns it:
// a run rebuilt from the store after a restart needs its data to be shown.
type Datasets interface {
	Dataset(ctx context.Context, id string) (run.Dataset, error)
}

// Options configure a Manager. Zero fields take the defaults documented on
// each.
type Options struct {
	// Store keeps runs and their history. Required.
	Store run.Store
	// Datasets finds the datasets of stored runs. Required to rebuild runs
	// from the store; without it only runs created by this Manager are
	// found.
	Datasets Datasets
	// NewTrainer makes each run's trainer. Default: trainer.New with
	// checkpoints enabled.
	NewTrainer TrainerFactory
	// RestoreTrainer makes the trainer of a resumed run. Default:
	// trainer.Restore with checkpoints enabled.
	RestoreTrainer RestoreFactory
	// NewProjector makes each run's projector. Default: projection.Live.
	NewProjector ProjectorFactory
	// NewViewers makes the audience of a run; the Manager calls it once
	// per run it holds in memory. Default: nobody is told anything.
	NewViewers func(id string) Viewers
	// Estimate returns the memory a run of cfg on d needs while it trains,
	// in bytes. Default trainer.Config.MemoryEstimate.
	Estimate func(cfg trainer.Config, d *dataset.Dataset) int64

	// MaxRuns is how many CPU slots there are: runs training, and runs
	// projecting after their training ended, at once. Default
	// runtime.NumCPU().
	MaxRuns int
	// MaxQueued is how many runs may wait for a slot; one more is refused
	// (run.TooMany). Default 32.
	MaxQueued int
	// MaxPerSession is how many unfinished runs (queued, running or
	// paused) one session may have. Default 4.
	MaxPerSession int
	// MaxRunBytes bounds Estimate of one run; a config over it is refused
	// (run.Invalid, naming the field to shrink). Default 1 GB.
	MaxRunBytes int64
	// MaxViewBytes bounds the memory held by the frames of projections
	// viewers chose for themselves (Run.Join with a View), over every
	// run; a view past it is refused (run.Unavailable) until idle views
	// are evicted. Default 512 MB.
	MaxViewBytes int64

	// Replica names this process among the replicas sharing the store
	// (stable across its restarts: serve keeps it in the data folder).
	// The runs it writes are its own (run.Record.Owner); it heartbeats
	// them every HeartbeatEvery; at start it interrupts its own unfinished
	// runs (it was stopped or crashed) and leaves other replicas' alone
	// unless their heartbeat is older than HeartbeatTimeout, and it
	// interrupts such runs of dead replicas as it finds them. "" (the
	// default, one process per store) owns every run: at start every
	// unfinished run is interrupted, and nothing heartbeats.
	Replica string
	// HeartbeatEvery and HeartbeatTimeout: defaults 5 s and 30 s.
	HeartbeatEvery, HeartbeatTimeout time.Duration

	// Bus, given with a Store that is also a Queue (run/postgres) and a
	// Replica, makes the manager one of several replicas (cluster.go):
	// new runs wait in the shared queue until a replica with a free slot
	// claims them; a dead replica's runs are queued again and resumed
	// from their checkpoint by another; every replica shows every run
	// live, its events coming over the Bus from the replica that trains
	// it, and forwards controls there. nil: the only replica.
	Bus Bus
	// NoTraining makes a replica among several claim no runs (explorer
	// serve --role web): it serves viewers, projecting only the views
	// they choose for themselves.
	NoTraining bool

	// Logger receives the manager's logs. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.NewTrainer == nil {
		o.NewTrainer = newTrainer
	}
	if o.RestoreTrainer == nil {
		o.RestoreTrainer = restoreTrainer
	}
	if o.NewProjector == nil {
		o.NewProjector = newLiveProjector
	}
	if o.NewViewers == nil {
		o.NewViewers = func(string) Viewers { return nobody{} }
	}
	if o.Estimate == nil {
		o.Estimate = func(cfg trainer.Config, d *dataset.Dataset) int64 { return cfg.MemoryEstimate(d) }
	}
	if o.MaxRuns <= 0 {
		o.MaxRuns = runtime.NumCPU()
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 32
	}
	if o.MaxPerSession <= 0 {
		o.MaxPerSession = 4
	}
	if o.MaxRunBytes <= 0 {
		o.MaxRunBytes = 1_000_000_000
	}
	if o.MaxViewBytes <= 0 {
		o.MaxViewBytes = 512_000_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = 5 * time.Second
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 30 * time.Second
	}
	return o
}

// newTrainer is the production TrainerFactory.
func newTrainer(cfg trainer.Config, d *dataset.Dataset) (Trainer, error) {
	r, err := trainer.New(cfg, d)
	if err != nil {
		return nil, err
	}
	r.EnableCheckpoints()
	return r, nil
}

// restoreTrainer is the production RestoreFactory.
func restoreTrainer(cfg trainer.Config, d *dataset.Dataset, checkpoint []byte) (Trainer, error) {
	r, err := trainer.Restore(cfg, d, checkpoint)
	if err != nil {
		return nil, err
	}
	r.EnableCheckpoints()
	return r, nil
}
