package run

import (
	"context"
	"encoding/json"
	"time"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Upload is what a Store keeps about an uploaded dataset: who owns it, how
// it was parsed and what it holds. The uploaded files themselves live on
// disk (Files, relative to the server's uploads folder), so the dataset can
// be parsed again after a restart with the same options.
type Upload struct {
	ID       string // "u-" and 16 hex digits; never a bundled dataset's name
	Session  string // the browser session that uploaded it: the only one that sees it
	FileName string // the name the user's file had
	Format   string // dataset.Format
	// Options are the parse options (dataset.Options), JSON-encoded.
	Options json.RawMessage
	// Files are the stored files, relative to the uploads folder: the
	// upload itself and, for Embedding Projector vectors, its metadata.
	Files   []string
	Bytes   int64 // memory the parsed dataset holds (the upload budget counts it)
	Info    dataset.Info
	Created time.Time
}

// RunFilter chooses the runs Store.Runs lists.
type RunFilter struct {
	// Session, when not "", keeps the runs the session created or opened
	// (see Store.ShareRun); "" keeps every run.
	Session string
	// States, when not empty, keeps the runs in one of these states.
	States []State
	// Limit, when above 0, keeps at most this many, the newest.
	Limit int
}

// Store keeps runs, their history and uploads' metadata, so they outlive
// the process: what a viewer who joins late is sent, what the neighbours
// endpoint searches and what a resumed run continues from. run/memory and
// run/sqlite implement it; run/storetest checks an implementation.
//
// Implementations are safe for concurrent use. Lookups of a run, epoch,
// frame, checkpoint or upload that does not exist return an error wrapping
// ErrNotFound; writes for a run that does not exist do too. Returned slices
// and records may be shared with the store: callers must not modify them.
type Store interface {
	// PutRun creates or replaces a run's record.
	PutRun(ctx context.Context, rec Record) error
	// Run returns a run's record.
	Run(ctx context.Context, id string) (Record, error)
	// Runs lists runs, newest first (by Created, then ID).
	Runs(ctx context.Context, f RunFilter) ([]Listing, error)
	// DeleteRun removes a run with its epochs, frames, checkpoint and
	// shares.
	DeleteRun(ctx context.Context, id string) error
	// Heartbeat records that replica owner is alive at at: every run it
	// owns that has not ended (State.Ended) gets Heartbeat at, in one
	// write. Owning no such run is not an error.
	Heartbeat(ctx context.Context, owner string, at time.Time) error
	// ShareRun records that session opened the run's link, so the run
	// appears in its list. Sharing a run with its creator, or twice, does
	// nothing.
	ShareRun(ctx context.Context, id, session string) error

	// PutEpoch records an epoch of a run, replacing one with the same
	// number. A record with a Checkpoint replaces the run's checkpoint in
	// the same transaction, so the newest checkpoint never runs ahead of
	// the epochs kept.
	PutEpoch(ctx context.Context, id string, e EpochRecord) error
	// Epoch returns epoch e of a run, without its checkpoint.
	Epoch(ctx context.Context, id string, e int) (EpochRecord, error)
	// Checkpoint returns the run's newest checkpoint and its epoch.
	Checkpoint(ctx context.Context, id string) (epoch int, state []byte, err error)

	// PutFrame records the projected frame of an epoch, replacing the
	// epoch's previous frame (a run's projection can change).
	PutFrame(ctx context.Context, id string, f FrameRecord) error
	// Frames returns a run's frames of epochs from and later, one per
	// epoch that has one, in epoch order.
	Frames(ctx context.Context, id string, from int) ([]FrameRecord, error)

	// PutUpload creates or replaces an upload's record.
	PutUpload(ctx context.Context, u Upload) error
	// Upload returns an upload's record.
	Upload(ctx context.Context, id string) (Upload, error)
	// Uploads lists a session's uploads ("" for every session's), oldest
	// first.
	Uploads(ctx context.Context, session string) ([]Upload, error)
	// DeleteUpload removes an upload's record (its files are the
	// caller's).
	DeleteUpload(ctx context.Context, id string) error

	// Close releases the store; no method may be called after it.
	Close() error
}
