package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/floatblob"
)

// PutEpoch records an epoch of a run, replacing one with the same number,
// and, when e has a Checkpoint, the run's checkpoint in the same
// transaction.
func (s *Store) PutEpoch(ctx context.Context, id string, e run.EpochRecord) error {
	blob := floatblob.Encode(e.Embeddings)
	var pairs []byte
	if e.Pairs != nil {
		var err error
		if pairs, err = json.Marshal(e.Pairs); err != nil {
			return fmt.Errorf("postgres: run %q epoch %d pairs: %w", id, e.Epoch, err)
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
INSERT INTO epochs (run_id, epoch, metrics, dim, embeddings, pairs) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (run_id, epoch) DO UPDATE SET
	metrics = excluded.metrics, dim = excluded.dim, embeddings = excluded.embeddings, pairs = excluded.pairs`,
			id, e.Epoch, text(e.Metrics), e.Dim, blob, text(pairs))
		if err != nil || e.Checkpoint == nil {
			return runWriteErr(err, id, fmt.Sprintf("put epoch %d", e.Epoch))
		}
		_, err = tx.Exec(ctx, `
INSERT INTO checkpoints (run_id, epoch, state) VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state`,
			id, e.Epoch, e.Checkpoint)
		return runWriteErr(err, id, fmt.Sprintf("put checkpoint %d", e.Epoch))
	})
}

// Epoch returns epoch n of a run, without its checkpoint.
func (s *Store) Epoch(ctx context.Context, id string, n int) (run.EpochRecord, error) {
	e := run.EpochRecord{Epoch: n}
	var metrics, blob, pairs []byte
	err := s.db.QueryRow(ctx, "SELECT metrics, dim, embeddings, pairs FROM epochs WHERE run_id = $1 AND epoch = $2", id, n).
		Scan(&metrics, &e.Dim, &blob, &pairs)
	if err == nil {
		e.Embeddings, err = floatblob.Decode(blob)
	}
	if err == nil && pairs != nil {
		err = json.Unmarshal(pairs, &e.Pairs)
	}
	if err != nil {
		return run.EpochRecord{}, lookupErr(err, "run %q epoch %d", id, n)
	}
	e.Metrics = metrics
	return e, nil
}

// Checkpoint returns the run's newest checkpoint and its epoch.
func (s *Store) Checkpoint(ctx context.Context, id string) (int, []byte, error) {
	var (
		epoch int
		state []byte
	)
	err := s.db.QueryRow(ctx, "SELECT epoch, state FROM checkpoints WHERE run_id = $1", id).Scan(&epoch, &state)
	if err != nil {
		return 0, nil, lookupErr(err, "run %q checkpoint", id)
	}
	if state == nil {
		state = []byte{} // a checkpoint is never nil
	}
	return epoch, state, nil
}

// PutFrame records the projected frame of an epoch, replacing the epoch's
// previous frame.
func (s *Store) PutFrame(ctx context.Context, id string, f run.FrameRecord) error {
	quality, err := json.Marshal(f.Quality)
	if err != nil {
		return fmt.Errorf("postgres: run %q frame %d quality: %w", id, f.Epoch, err)
	}
	_, err = s.db.Exec(ctx, `
INSERT INTO frames (run_id, epoch, method, dims, quality, metrics, backfill, sent, coords) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_id, epoch) DO UPDATE SET
	method = excluded.method, dims = excluded.dims, quality = excluded.quality, metrics = excluded.metrics,
	backfill = excluded.backfill, sent = excluded.sent, coords = excluded.coords`,
		id, f.Epoch, f.Method, f.Dims, string(quality), text(f.Metrics), f.Backfill, f.Sent, floatblob.Encode(f.Coords))
	return runWriteErr(err, id, fmt.Sprintf("put frame %d", f.Epoch))
}

// Frames returns a run's frames of epochs from and later, in epoch order.
// One statement reads them and whether the run exists, so a run deleted
// meanwhile is missing, never an empty history.
func (s *Store) Frames(ctx context.Context, id string, from int) ([]run.FrameRecord, error) {
	rows, err := s.db.Query(ctx, `
SELECT f.epoch, f.method, f.dims, f.quality, f.metrics, f.backfill, f.sent, f.coords
FROM runs r LEFT JOIN frames f ON f.run_id = r.id AND f.epoch >= $2
WHERE r.id = $1 ORDER BY f.epoch`, id, from)
	if err != nil {
		return nil, fmt.Errorf("postgres: run %q frames: %w", id, err)
	}
	var (
		frames []run.FrameRecord
		found  bool
	)
	_, err = collect(rows, func(row pgx.Row) (struct{}, error) {
		found = true
		f, ok, err := scanFrame(row)
		if ok {
			frames = append(frames, f)
		}
		return struct{}{}, err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("postgres: run %q frames: %w", id, err)
	case !found:
		return nil, notFound("run %q", id)
	}
	return frames, nil
}

// scanFrame scans a row of Frames' join, reporting whether it held a frame.
func scanFrame(row pgx.Row) (f run.FrameRecord, ok bool, err error) {
	var (
		epoch, dims     *int32
		method, quality *string
		metrics, blob   []byte
		backfill        *bool
		sent            *time.Time
	)
	if err := row.Scan(&epoch, &method, &dims, &quality, &metrics, &backfill, &sent, &blob); err != nil {
		return f, false, err
	}
	if epoch == nil {
		return f, false, nil // the run, without frames
	}
	f.Epoch, f.Method, f.Dims, f.Backfill = int(*epoch), *method, int(*dims), *backfill
	if err := json.Unmarshal([]byte(*quality), &f.Quality); err != nil {
		return f, false, fmt.Errorf("epoch %d quality: %w", f.Epoch, err)
	}
	if f.Coords, err = floatblob.Decode(blob); err != nil {
		return f, false, fmt.Errorf("epoch %d: %w", f.Epoch, err)
	}
	f.Metrics, f.Sent = metrics, sent.UTC()
	return f, true, nil
}
