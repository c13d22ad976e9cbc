// Package memory implements run.Store in the process's memory: maps under
// one read-write mutex. Nothing outlives the process, which is what tests,
// the CLI and a server started without a database want.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// Store is a run.Store held in memory. It keeps the records it is given,
// not copies (run.Store's contract forbids modifying them), so a write
// costs no more than a map update. The zero value is not usable: call New.
type Store struct {
	mu      sync.RWMutex
	runs    map[string]*entry
	uploads map[string]run.Upload
}

// entry is one run and everything kept of it.
type entry struct {
	rec    run.Record
	shares map[string]bool
	epochs map[int]run.EpochRecord // without their checkpoints
	newest int                     // the highest key of epochs, -1 when empty

	checkpoint      []byte // nil when the run has none
	checkpointEpoch int

	frames []run.FrameRecord // in epoch order, one per epoch
}

var _ run.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{runs: map[string]*entry{}, uploads: map[string]run.Upload{}}
}

// notFound returns an error wrapping run.ErrNotFound that names what is
// missing, formatted as by fmt.Sprintf (`run "r-1" epoch 3`).
func notFound(format string, args ...any) error {
	return fmt.Errorf("memory: %s: %w", fmt.Sprintf(format, args...), run.ErrNotFound)
}

// locked runs fn holding s.mu, for writing when write is true, unless ctx
// is done.
func (s *Store) locked(ctx context.Context, write bool, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if write {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	return fn()
}

// onRun runs fn on run id's entry as locked does; a run that does not
// exist is an error wrapping run.ErrNotFound.
func (s *Store) onRun(ctx context.Context, id string, write bool, fn func(e *entry) error) error {
	return s.locked(ctx, write, func() error {
		e, ok := s.runs[id]
		if !ok {
			return notFound("run %q", id)
		}
		return fn(e)
	})
}

// oldestFirst compares two records by their Created times, then their
// IDs: the order Uploads lists, the reverse of Runs'.
func oldestFirst(a, b time.Time, aID, bID string) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	return cmp.Compare(aID, bID)
}

// PutRun creates or replaces a run's record, keeping its epochs, frames,
// checkpoint and shares.
func (s *Store) PutRun(ctx context.Context, rec run.Record) error {
	return s.locked(ctx, true, func() error {
		if e, ok := s.runs[rec.ID]; ok {
			e.rec = rec
		} else {
			s.runs[rec.ID] = &entry{rec: rec, shares: map[string]bool{}, epochs: map[int]run.EpochRecord{}, newest: -1}
		}
		return nil
	})
}

// Heartbeat sets the Heartbeat of owner's runs that have not ended.
func (s *Store) Heartbeat(ctx context.Context, owner string, at time.Time) error {
	return s.locked(ctx, true, func() error {
		for _, e := range s.runs {
			if e.rec.Owner == owner && !e.rec.State.Ended() {
				e.rec.Heartbeat = at
			}
		}
		return nil
	})
}

// Run returns a run's record.
func (s *Store) Run(ctx context.Context, id string) (rec run.Record, err error) {
	err = s.onRun(ctx, id, false, func(e *entry) error {
		rec = e.rec
		return nil
	})
	return rec, err
}

// Runs lists the runs f keeps, newest first (by Created, then ID).
func (s *Store) Runs(ctx context.Context, f run.RunFilter) (list []run.Listing, err error) {
	err = s.locked(ctx, false, func() error {
		for _, e := range s.runs {
			shared := f.Session != "" && e.rec.Session != f.Session
			if shared && !e.shares[f.Session] || len(f.States) > 0 && !slices.Contains(f.States, e.rec.State) {
				continue
			}
			l := run.Listing{Record: e.rec, Epoch: e.newest, Shared: shared}
			if e.newest >= 0 {
				l.Metrics = e.epochs[e.newest].Metrics
			}
			list = append(list, l)
		}
		return nil
	})
	slices.SortFunc(list, func(a, b run.Listing) int { return oldestFirst(b.Created, a.Created, b.ID, a.ID) })
	if f.Limit > 0 && len(list) > f.Limit {
		list = list[:f.Limit]
	}
	return list, err
}

// DeleteRun removes a run with its epochs, frames, checkpoint and shares.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.onRun(ctx, id, true, func(*entry) error {
		delete(s.runs, id)
		return nil
	})
}

// ShareRun records that session opened the run's link.
func (s *Store) ShareRun(ctx context.Context, id, session string) error {
	return s.onRun(ctx, id, true, func(e *entry) error {
		if session != e.rec.Session {
			e.shares[session] = true
		}
		return nil
	})
}

// PutEpoch records an epoch of a run, replacing one with the same number,
// and, when ep has a Checkpoint, the run's checkpoint with it.
func (s *Store) PutEpoch(ctx context.Context, id string, ep run.EpochRecord) error {
	return s.onRun(ctx, id, true, func(e *entry) error {
		if ep.Checkpoint != nil {
			e.checkpoint, e.checkpointEpoch = ep.Checkpoint, ep.Epoch
			ep.Checkpoint = nil
		}
		e.epochs[ep.Epoch] = ep
		e.newest = max(e.newest, ep.Epoch)
		return nil
	})
}

// Epoch returns epoch n of a run, without its checkpoint.
func (s *Store) Epoch(ctx context.Context, id string, n int) (ep run.EpochRecord, err error) {
	err = s.onRun(ctx, id, false, func(e *entry) error {
		var ok bool
		if ep, ok = e.epochs[n]; !ok {
			return notFound("run %q epoch %d", id, n)
		}
		return nil
	})
	return ep, err
}

// Checkpoint returns the run's newest checkpoint and its epoch.
func (s *Store) Checkpoint(ctx context.Context, id string) (epoch int, state []byte, err error) {
	err = s.onRun(ctx, id, false, func(e *entry) error {
		if e.checkpoint == nil {
			return notFound("run %q checkpoint", id)
		}
		epoch, state = e.checkpointEpoch, e.checkpoint
		return nil
	})
	return epoch, state, err
}

// frameIndex returns where the frame of epoch belongs in frames, in epoch
// order, and whether it is there.
func frameIndex(frames []run.FrameRecord, epoch int) (int, bool) {
	return slices.BinarySearchFunc(frames, epoch, func(f run.FrameRecord, epoch int) int {
		return cmp.Compare(f.Epoch, epoch)
	})
}

// PutFrame records the projected frame of an epoch, replacing the epoch's
// previous frame.
func (s *Store) PutFrame(ctx context.Context, id string, f run.FrameRecord) error {
	return s.onRun(ctx, id, true, func(e *entry) error {
		if i, found := frameIndex(e.frames, f.Epoch); found {
			e.frames[i] = f
		} else {
			e.frames = slices.Insert(e.frames, i, f)
		}
		return nil
	})
}

// Frames returns a run's frames of epochs from and later, in epoch order.
func (s *Store) Frames(ctx context.Context, id string, from int) (frames []run.FrameRecord, err error) {
	err = s.onRun(ctx, id, false, func(e *entry) error {
		i, _ := frameIndex(e.frames, from)
		// A copy: PutFrame shifts e.frames in place while the caller reads.
		frames = slices.Clone(e.frames[i:])
		return nil
	})
	return frames, err
}

// PutUpload creates or replaces an upload's record.
func (s *Store) PutUpload(ctx context.Context, u run.Upload) error {
	return s.locked(ctx, true, func() error {
		s.uploads[u.ID] = u
		return nil
	})
}

// Upload returns an upload's record.
func (s *Store) Upload(ctx context.Context, id string) (u run.Upload, err error) {
	err = s.locked(ctx, false, func() error {
		var ok bool
		if u, ok = s.uploads[id]; !ok {
			return notFound("upload %q", id)
		}
		return nil
	})
	return u, err
}

// Uploads lists a session's uploads ("" for every session's), oldest
// first (by Created, then ID).
func (s *Store) Uploads(ctx context.Context, session string) (list []run.Upload, err error) {
	err = s.locked(ctx, false, func() error {
		for _, u := range s.uploads {
			if session == "" || u.Session == session {
				list = append(list, u)
			}
		}
		return nil
	})
	slices.SortFunc(list, func(a, b run.Upload) int { return oldestFirst(a.Created, b.Created, a.ID, b.ID) })
	return list, err
}

// DeleteUpload removes an upload's record; an upload that does not exist
// is an error wrapping run.ErrNotFound.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.locked(ctx, true, func() error {
		if _, ok := s.uploads[id]; !ok {
			return notFound("upload %q", id)
		}
		delete(s.uploads, id)
		return nil
	})
}

// Close drops the store's contents. It never fails.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.runs)
	clear(s.uploads)
	return nil
}
