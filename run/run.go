// Package run holds the explorer's domain: what a run is (its config, its
// state and the records kept of it) and the interfaces of the services that
// keep them (Store) and list the bundled datasets (Catalog). It has almost
// no behaviour: the run lifecycle lives in run/runner, each storage
// technology in its own package (run/memory, run/sqlite), and HTTP in web.
// Like the root package of benbjohnson/wtf, every other package of the
// explorer's server side may import it, and it imports none of them.
package run

import (
	"encoding/json"
	"math"
	"time"

	"github.com/contrastive-explorer/explorer/trainer"
)

// State is where a run is in its life, as the API, the websocket and the
// store name it.
type State string

// The states of a run. A queued run waits for a training slot; running and
// paused runs hold one. Done, stopped and failed are final. Interrupted
// marks a run whose server stopped (or crashed) while it trained: it holds
// no slot and its owner may resume it from its last checkpoint.
const (
	Queued      State = "queued"
	Running     State = "running"
	Paused      State = "paused"
	Done        State = "done"
	Stopped     State = "stopped"
	Failed      State = "failed"
	Interrupted State = "interrupted"
)

// Ended reports whether no training happens in state s without a user's
// action: done, stopped, failed or interrupted.
func (s State) Ended() bool {
	return s == Done || s == Stopped || s == Failed || s == Interrupted
}

// Final reports whether s is an end state that nothing can leave: done,
// stopped or failed.
func (s State) Final() bool { return s == Done || s == Stopped || s == Failed }

// Valid reports whether s is one of the states above.
func (s State) Valid() bool {
	switch s {
	case Queued, Running, Paused, Done, Stopped, Failed, Interrupted:
		return true
	}
	return false
}

// Projection methods, as the API names them.
const (
	MethodPCA  = "pca"
	MethodTSNE = "tsne"
	MethodUMAP = "umap"
)

// Config is everything that defines a run: the trainer's configuration
// and how its epochs are projected for display.
type Config struct {
	trainer.Config
	Projection string `json:"projection"` // MethodPCA, MethodTSNE or MethodUMAP
	Dims       int    `json:"dims"`       // 2 or 3
}

// Record is what a Store keeps about one run besides its epochs.
type Record struct {
	ID        string
	TokenHash [32]byte // SHA-256 of the control token; the token itself is never stored
	Session   string   // the browser session that created the run; "" for none (CLI)
	Name      string   // the owner's name for the run; "" until renamed
	Config    Config   // resolved: the trainer's defaults filled in
	State     State
	Error     string // why the run failed, for State Failed
	Created   time.Time
	Updated   time.Time // last change of the record (state, name, projection)
	// Owner is the replica (runner.Options.Replica) whose process queues
	// or trains the run, "" for none; Heartbeat is when the owner last said
	// it is alive (Store.Heartbeat), zero for never. A run whose owner's
	// heartbeat is old is one whose replica died.
	Owner     string
	Heartbeat time.Time
}

// Listing is one run in a list of runs: its record and what the runs page
// shows of its progress.
type Listing struct {
	Record
	// Epoch is the newest epoch recorded, -1 when there is none.
	Epoch int
	// Metrics is the newest epoch's metrics (as EpochRecord.Metrics), nil
	// when there is no epoch.
	Metrics json.RawMessage
	// Shared is true when the run is listed because the session opened its
	// link, not because it created it.
	Shared bool
}

// EpochRecord is one epoch as training produced it: its metrics, encoded
// as the JSON object the wire protocol sends, and every item's embedding,
// n×Dim in dataset order. Checkpoint, when not nil, is the trainer's state
// after this epoch (trainer.Epoch.Checkpoint), enough to resume training
// from here; a Store keeps only a run's newest one. Records given to or
// returned by a Store are shared and must not be modified.
type EpochRecord struct {
	Epoch      int
	Metrics    json.RawMessage
	Embeddings []float32
	Dim        int
	Checkpoint []byte
	// Pairs is a sample of the epoch's last training batch, for the page's
	// "what the loss sees"; nil for runs recorded before it was kept.
	Pairs []PairRecord
}

// PairRecord is one example pair of an epoch's training batch (see
// trainer.PairExample): the items, whether the loss took them as a
// positive pair, the distance of their embeddings in that step, the texts
// the encoder read, and for dense data the inputs it read (views), each
// feature clamped to [0, 1] and quantised to a byte.
type PairRecord struct {
	A        int     `json:"a"`
	B        int     `json:"b"`
	Positive bool    `json:"positive"`
	Distance float64 `json:"distance"`
	TextA    string  `json:"text_a,omitempty"`
	TextB    string  `json:"text_b,omitempty"`
	ViewA    []byte  `json:"view_a,omitempty"`
	ViewB    []byte  `json:"view_b,omitempty"`
}

// PairRecordOf quantises an example pair for the record.
func PairRecordOf(a, b int, positive bool, distance float64, textA, textB string, viewA, viewB []float32) PairRecord {
	return PairRecord{A: a, B: b, Positive: positive, Distance: distance, TextA: textA, TextB: textB, ViewA: quantise(viewA), ViewB: quantise(viewB)}
}

func quantise(v []float32) []byte {
	if v == nil {
		return nil
	}
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(math.Round(float64(min(max(x, 0), 1)) * 255))
	}
	return out
}

// Views returns the pair's inputs as features in [0, 1] (nil for none).
func (p PairRecord) Views() (a, b []float32) {
	return dequantise(p.ViewA), dequantise(p.ViewB)
}

func dequantise(v []byte) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x) / 255
	}
	return out
}

// Quality is how faithful a frame is to the embeddings it projects: 0 when
// not computed.
type Quality struct {
	KL              float64 `json:"kl"`
	Trustworthiness float64 `json:"trustworthiness"`
	KNNPreservation float64 `json:"knn_preservation"`
	Seconds         float64 `json:"seconds"` // time the projection took
}

// FrameRecord is one epoch's projected frame: n×Dims coordinates in dataset
// order, the projection that made them, their quality, and the epoch's
// metrics (as in its EpochRecord), so a viewer's history needs only frames.
// Backfill is true for a frame projected after training had moved on
// (replay has it, the live view skipped it); Sent is when it was first sent
// to viewers. Records given to or returned by a Store are shared and must
// not be modified.
type FrameRecord struct {
	Epoch    int
	Method   string
	Dims     int
	Coords   []float32
	Quality  Quality
	Metrics  json.RawMessage
	Backfill bool
	Sent     time.Time
}
