package memory

import (
	"context"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// Claim makes replica the owner of the oldest queued run that nobody owns
// or whose owner's heartbeat is older than stale, as run/postgres's does
// (runner.Queue), for tests of replicas in one process.
func (s *Store) Claim(ctx context.Context, replica string, at, stale time.Time) (rec run.Record, ok bool, err error) {
	err = s.locked(ctx, true, func() error {
		var next *entry
		for _, e := range s.runs {
			r := e.rec
			if !unclaimed(r, stale) {
				continue
			}
			if next == nil || oldestFirst(r.Created, next.rec.Created, r.ID, next.rec.ID) < 0 {
				next = e
			}
		}
		if next == nil {
			return nil
		}
		next.rec.Owner, next.rec.Heartbeat = replica, at
		rec, ok = next.rec, true
		return nil
	})
	return rec, ok, err
}

// Requeue puts rec's run back in the queue, owned by nobody, if its record
// still has rec's state, owner and heartbeat.
func (s *Store) Requeue(ctx context.Context, rec run.Record, at time.Time) (ok bool, err error) {
	err = s.onRun(ctx, rec.ID, true, func(e *entry) error {
		r := &e.rec
		if r.State != rec.State || r.Owner != rec.Owner || !r.Heartbeat.Equal(rec.Heartbeat) {
			return nil
		}
		r.State, r.Owner, r.Heartbeat, r.Updated = run.Queued, "", time.Time{}, at
		ok = true
		return nil
	})
	return ok, err
}

// unclaimed reports whether rec is queued and no live replica claimed it.
func unclaimed(rec run.Record, stale time.Time) bool {
	return rec.State == run.Queued && (rec.Owner == "" || rec.Heartbeat.IsZero() || rec.Heartbeat.Before(stale))
}

// Unqueue stops a queued run that no live replica has claimed.
func (s *Store) Unqueue(ctx context.Context, id string, at, stale time.Time) (ok bool, err error) {
	err = s.onRun(ctx, id, true, func(e *entry) error {
		if !unclaimed(e.rec, stale) {
			return nil
		}
		e.rec.State, e.rec.Updated = run.Stopped, at
		ok = true
		return nil
	})
	return ok, err
}

// EditQueued sets the name and config of a queued run no live replica
// has claimed.
func (s *Store) EditQueued(ctx context.Context, id, name string, cfg run.Config, at, stale time.Time) (ok bool, err error) {
	err = s.onRun(ctx, id, true, func(e *entry) error {
		if !unclaimed(e.rec, stale) {
			return nil
		}
		e.rec.Name, e.rec.Config, e.rec.Updated = name, cfg, at
		ok = true
		return nil
	})
	return ok, err
}
