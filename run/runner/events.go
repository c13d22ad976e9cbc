package runner

import "github.com/contrastive-explorer/explorer/run"

// EventKind says what an Event announces.
type EventKind int

// The kinds of events, in the order a run's life produces them.
const (
	// EventState: the run's state or queue position changed (Summary).
	EventState EventKind = iota
	// EventFrame: an epoch was projected (Frame; Live for the newest
	// epoch, which a slow viewer may skip, else a backfilled one).
	EventFrame
	// EventProjection: the run's projection changed
	// (Summary.Config.Projection and Dims); frames in the new one follow.
	EventProjection
	// EventError: training failed (Summary.Error), right after the state.
	EventError
	// EventDone: nothing more will come until someone changes the run
	// (Summary.State, Summary.Epoch).
	EventDone
)

// Event is one change of a run that its viewers are told about. Frame and
// Summary are shared and must not be modified.
type Event struct {
	Kind    EventKind
	Summary Summary
	Frame   *run.FrameRecord
	Live    bool
	// View is the projection a frame or done is of: the zero View for the
	// run's own, else one viewers chose (see Run.Join). Every other kind
	// of event is for every viewer.
	View View
}

// Viewers is a run's audience (web's websocket hub). Publish is called
// under the run's lock, in the order the events happen, and must not
// block; Len counts the viewers.
type Viewers interface {
	Publish(e Event)
	Len() int
}

// nobody is the Viewers of a run no one watches.
type nobody struct{}

func (nobody) Publish(Event) {}
func (nobody) Len() int      { return 0 }

// History is what a viewer who joins is given (see Run.Join): the run as it
// is, its frames of the requested epochs in epoch order, and whether
// nothing more will come (Done: the joiner is not registered for more).
type History struct {
	Summary Summary
	Dataset run.Dataset
	Frames  []run.FrameRecord
	Done    bool
}

// Summary is what a run is now: its record's fields and what only the live
// run knows (queue position, epoch trained, viewers).
type Summary struct {
	ID            string
	Session       string
	Name          string
	State         run.State
	QueuePosition int        // 1 = next to start; 0 when not queued
	Epoch         int        // newest epoch trained, 0 before the first
	Config        run.Config // Projection and Dims: the projection now
	Viewers       int
	Error         string
	Resumable     bool // interrupted with a checkpoint to resume from
}
