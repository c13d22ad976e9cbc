package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/floatblob"
)

// PutEpoch records an epoch of a run, replacing one with the same number,
// and, when e has a Checkpoint, the run's checkpoint in the same
// transaction. The embeddings are encoded before the transaction begins, so
// the writer is held only for the SQL.
func (s *Store) PutEpoch(ctx context.Context, id string, e run.EpochRecord) error {
	blob := floatblob.Encode(e.Embeddings)
	var pairs []byte
	if e.Pairs != nil {
		var err error
		if pairs, err = json.Marshal(e.Pairs); err != nil {
			return fmt.Errorf("sqlite: run %q epoch %d pairs: %w", id, e.Epoch, err)
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO epochs (run_id, epoch, metrics, dim, embeddings, pairs) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, epoch) DO UPDATE SET
	metrics = excluded.metrics, dim = excluded.dim, embeddings = excluded.embeddings, pairs = excluded.pairs`,
			id, e.Epoch, text(e.Metrics), e.Dim, blob, text(pairs))
		if err != nil || e.Checkpoint == nil {
			return runWriteErr(err, id, fmt.Sprintf("put epoch %d", e.Epoch))
		}
		_, err = tx.ExecContext(ctx, `
INSERT INTO checkpoints (run_id, epoch, state) VALUES (?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state`,
			id, e.Epoch, e.Checkpoint)
		return runWriteErr(err, id, fmt.Sprintf("put checkpoint %d", e.Epoch))
	})
}

// Epoch returns epoch n of a run, without its checkpoint.
func (s *Store) Epoch(ctx context.Context, id string, n int) (run.EpochRecord, error) {
	e := run.EpochRecord{Epoch: n}
	var metrics, blob, pairs []byte
	err := s.r.QueryRowContext(ctx, "SELECT metrics, dim, embeddings, pairs FROM epochs WHERE run_id = ? AND epoch = ?", id, n).
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
	err := s.r.QueryRowContext(ctx, "SELECT epoch, state FROM checkpoints WHERE run_id = ?", id).Scan(&epoch, &state)
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
		return fmt.Errorf("sqlite: run %q frame %d quality: %w", id, f.Epoch, err)
	}
	_, err = s.w.ExecContext(ctx, `
INSERT INTO frames (run_id, epoch, method, dims, quality, metrics, backfill, sent, coords) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, epoch) DO UPDATE SET
	method = excluded.method, dims = excluded.dims, quality = excluded.quality, metrics = excluded.metrics,
	backfill = excluded.backfill, sent = excluded.sent, coords = excluded.coords`,
		id, f.Epoch, f.Method, f.Dims, string(quality), text(f.Metrics), f.Backfill, f.Sent.UnixMicro(), floatblob.Encode(f.Coords))
	return runWriteErr(err, id, fmt.Sprintf("put frame %d", f.Epoch))
}

// Frames returns a run's frames of epochs from and later, in epoch order.
func (s *Store) Frames(ctx context.Context, id string, from int) ([]run.FrameRecord, error) {
	frames, err := s.frames(ctx, id, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: run %q frames: %w", id, err)
	}
	if len(frames) == 0 {
		// No frames, or no run? A run deleted since the query is missing
		// either way.
		if _, err := s.Run(ctx, id); err != nil {
			return nil, err
		}
	}
	return frames, nil
}

// frames reads the frames Frames returns.
func (s *Store) frames(ctx context.Context, id string, from int) ([]run.FrameRecord, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT epoch, method, dims, quality, metrics, backfill, sent, coords FROM frames
WHERE run_id = ? AND epoch >= ? ORDER BY epoch`, id, from)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanFrame)
}

// scanFrame scans a row of frames.
func scanFrame(row scanner) (run.FrameRecord, error) {
	var (
		f                      run.FrameRecord
		quality, metrics, blob []byte
		sent                   int64
	)
	err := row.Scan(&f.Epoch, &f.Method, &f.Dims, &quality, &metrics, &f.Backfill, &sent, &blob)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(quality, &f.Quality); err != nil {
		return f, fmt.Errorf("epoch %d quality: %w", f.Epoch, err)
	}
	if f.Coords, err = floatblob.Decode(blob); err != nil {
		return f, fmt.Errorf("epoch %d: %w", f.Epoch, err)
	}
	f.Metrics, f.Sent = metrics, fromMicros(sent)
	return f, nil
}
