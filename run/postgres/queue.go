package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contrastive-explorer/explorer/run"
)

// The run queue of replicas sharing the database (runner.Queue). A queued
// run is a row of runs in state 'queued'; the replica that trains it is its
// owner. Claim takes the oldest one that no live replica holds with
// SELECT ... FOR UPDATE SKIP LOCKED, so replicas claiming at once each get
// a different run and none waits for another's transaction.

// Claim makes replica the owner of the oldest queued run that nobody owns
// or whose owner's heartbeat is older than stale, with heartbeat at, and
// returns its record; ok is false when no such run waits.
func (s *Store) Claim(ctx context.Context, replica string, at, stale time.Time) (run.Record, bool, error) {
	rec, err := scanRecord(s.db.QueryRow(ctx, `
WITH next AS (
	SELECT id FROM runs
	WHERE state = 'queued' AND (owner = '' OR heartbeat IS NULL OR heartbeat < $3)
	ORDER BY created, id
	LIMIT 1
	FOR UPDATE SKIP LOCKED
)
UPDATE runs r SET owner = $1, heartbeat = $2
FROM next WHERE r.id = next.id
RETURNING `+recordColumns, replica, at, stale))
	if errors.Is(err, pgx.ErrNoRows) {
		return run.Record{}, false, nil
	}
	if err != nil {
		return run.Record{}, false, fmt.Errorf("postgres: claiming a queued run: %w", err)
	}
	return rec, true, nil
}

// Requeue puts rec's run back in the queue, owned by nobody, if its row
// still has rec's state, owner and heartbeat (nobody changed it since rec
// was read), and reports whether it did.
func (s *Store) Requeue(ctx context.Context, rec run.Record, at time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `
UPDATE runs SET state = 'queued', owner = '', heartbeat = NULL, updated = $5
WHERE id = $1 AND state = $2 AND owner = $3 AND heartbeat IS NOT DISTINCT FROM $4`,
		rec.ID, string(rec.State), rec.Owner, nullTime(rec.Heartbeat), at)
	if err != nil {
		return false, fmt.Errorf("postgres: requeueing run %q: %w", rec.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Unqueue stops a queued run that no live replica has claimed (its owner
// is nobody, or heartbeat older than stale), and reports whether it did.
func (s *Store) Unqueue(ctx context.Context, id string, at, stale time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `
UPDATE runs SET state = 'stopped', updated = $2
WHERE id = $1 AND state = 'queued' AND (owner = '' OR heartbeat IS NULL OR heartbeat < $3)`, id, at, stale)
	if err != nil {
		return false, fmt.Errorf("postgres: stopping queued run %q: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// EditQueued sets the name and config of a queued run that no live
// replica has claimed, and reports whether it did.
func (s *Store) EditQueued(ctx context.Context, id, name string, cfg run.Config, at, stale time.Time) (bool, error) {
	config, err := json.Marshal(cfg)
	if err != nil {
		return false, fmt.Errorf("postgres: run %q config: %w", id, err)
	}
	tag, err := s.db.Exec(ctx, `
UPDATE runs SET name = $2, config = $3, updated = $4
WHERE id = $1 AND state = 'queued' AND (owner = '' OR heartbeat IS NULL OR heartbeat < $5)`, id, name, string(config), at, stale)
	if err != nil {
		return false, fmt.Errorf("postgres: editing queued run %q: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}
