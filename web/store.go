package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNotFound is wrapped by every error about a run, dataset or epoch that
// does not exist; the HTTP error mapper answers 404 for it.
var ErrNotFound = errors.New("not found")

// RunRecord is what a Store keeps about one run besides its epochs.
type RunRecord struct {
	ID        string
	TokenHash [32]byte // SHA-256 of the control token; the token itself is never stored
	Config    RunConfig
	State     State
	Error     string // why the run failed, for State Failed
	Created   time.Time
}

// EpochRecord is one epoch as training produced it: its metrics, already
// encoded as the JSON object the wire protocol sends, and every item's
// embedding, n×Dim in dataset order. The embeddings are shared and must not
// be modified.
type EpochRecord struct {
	Epoch      int
	Metrics    json.RawMessage
	Embeddings []float32
	Dim        int
}

// FrameRecord is one epoch's projected frame as it goes over the wire: the
// JSON text message and the binary coordinate message, encoded once and
// shared by every viewer. Method and Dims say which projection made it.
type FrameRecord struct {
	Epoch  int
	Method string
	Dims   int
	Text   []byte
	Binary []byte
}

// Store keeps runs and their history: what a viewer who joins late is sent
// and what the neighbours endpoint searches. The server's in-memory store is
// NewMemoryStore; a persistent one (SQLite) plugs in behind the same
// interface. Implementations must be safe for concurrent use. Lookups of a
// run, epoch or frame that does not exist return an error wrapping
// ErrNotFound. Returned slices and records may be shared with the store:
// callers must not modify them.
type Store interface {
	// PutRun creates or replaces a run's record.
	PutRun(ctx context.Context, rec RunRecord) error
	// Run returns a run's record.
	Run(ctx context.Context, id string) (RunRecord, error)
	// PutEpoch records an epoch of a run, replacing one with the same number.
	PutEpoch(ctx context.Context, id string, e EpochRecord) error
	// Epoch returns epoch e of a run.
	Epoch(ctx context.Context, id string, e int) (EpochRecord, error)
	// PutFrame records the projected frame of an epoch, replacing the
	// epoch's previous frame (a run's projection can change).
	PutFrame(ctx context.Context, id string, f FrameRecord) error
	// Frames returns a run's frames, one per epoch that has one, in epoch
	// order.
	Frames(ctx context.Context, id string) ([]FrameRecord, error)
}

// MemoryStore is a Store that keeps everything in memory until the server
// stops. The zero value is not usable: call NewMemoryStore.
type MemoryStore struct {
	mu   sync.RWMutex
	runs map[string]*memRun
}

type memRun struct {
	rec    RunRecord
	epochs []EpochRecord // indexed by epoch; Embeddings nil when absent
	frames []FrameRecord // indexed by epoch; Text nil when absent
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{runs: make(map[string]*memRun)}
}

func (s *MemoryStore) get(id string) (*memRun, error) {
	r, ok := s.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	return r, nil
}

// PutRun creates or replaces a run's record.
func (s *MemoryStore) PutRun(_ context.Context, rec RunRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[rec.ID]; ok {
		r.rec = rec
		return nil
	}
	s.runs[rec.ID] = &memRun{rec: rec}
	return nil
}

// Run returns a run's record.
func (s *MemoryStore) Run(_ context.Context, id string) (RunRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.get(id)
	if err != nil {
		return RunRecord{}, err
	}
	return r.rec, nil
}

// PutEpoch records an epoch of a run.
func (s *MemoryStore) PutEpoch(_ context.Context, id string, e EpochRecord) error {
	if e.Epoch < 0 {
		return fmt.Errorf("run %q: negative epoch %d", id, e.Epoch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.get(id)
	if err != nil {
		return err
	}
	if e.Epoch >= len(r.epochs) {
		r.epochs = slices.Grow(r.epochs, e.Epoch+1-len(r.epochs))[:e.Epoch+1]
	}
	r.epochs[e.Epoch] = e
	return nil
}

// Epoch returns epoch e of a run.
func (s *MemoryStore) Epoch(_ context.Context, id string, e int) (EpochRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.get(id)
	if err != nil {
		return EpochRecord{}, err
	}
	if e < 0 || e >= len(r.epochs) || r.epochs[e].Embeddings == nil {
		return EpochRecord{}, fmt.Errorf("run %q epoch %d: %w", id, e, ErrNotFound)
	}
	return r.epochs[e], nil
}

// PutFrame records the projected frame of an epoch.
func (s *MemoryStore) PutFrame(_ context.Context, id string, f FrameRecord) error {
	if f.Epoch < 0 {
		return fmt.Errorf("run %q: negative epoch %d", id, f.Epoch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.get(id)
	if err != nil {
		return err
	}
	if f.Epoch >= len(r.frames) {
		r.frames = slices.Grow(r.frames, f.Epoch+1-len(r.frames))[:f.Epoch+1]
	}
	r.frames[f.Epoch] = f
	return nil
}

// Frames returns a run's frames in epoch order.
func (s *MemoryStore) Frames(_ context.Context, id string) ([]FrameRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.get(id)
	if err != nil {
		return nil, err
	}
	out := make([]FrameRecord, 0, len(r.frames))
	for _, f := range r.frames {
		if f.Text != nil {
			out = append(out, f)
		}
	}
	return out, nil
}
