package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// recordColumns are the columns of runs scanRecord reads, prefixed r.
const recordColumns = "r.id, r.token_hash, r.session, r.name, r.config, r.state, r.error, r.created, r.updated, r.owner, r.heartbeat"

// listingFrom joins each run to its newest epoch, found through the
// epochs' primary key.
const listingFrom = `FROM runs r
LEFT JOIN epochs e ON e.run_id = r.id AND e.epoch = (SELECT max(epoch) FROM epochs WHERE run_id = r.id)`

// scanRecord scans recordColumns, then into extra.
func scanRecord(row scanner, extra ...any) (run.Record, error) {
	var (
		rec              run.Record
		hash, config     []byte
		created, updated int64
		heartbeat        int64
	)
	dest := append([]any{&rec.ID, &hash, &rec.Session, &rec.Name, &config, &rec.State, &rec.Error, &created, &updated, &rec.Owner, &heartbeat}, extra...)
	if err := row.Scan(dest...); err != nil {
		return run.Record{}, err
	}
	if len(hash) != len(rec.TokenHash) {
		return run.Record{}, fmt.Errorf("run %q has a token hash of %d bytes", rec.ID, len(hash))
	}
	copy(rec.TokenHash[:], hash)
	if err := json.Unmarshal(config, &rec.Config); err != nil {
		return run.Record{}, fmt.Errorf("run %q config: %w", rec.ID, err)
	}
	rec.Created, rec.Updated = fromMicros(created), fromMicros(updated)
	if heartbeat != 0 {
		rec.Heartbeat = fromMicros(heartbeat)
	}
	return rec, nil
}

// PutRun creates or replaces a run's record, keeping its epochs, frames,
// checkpoint and shares.
func (s *Store) PutRun(ctx context.Context, rec run.Record) error {
	config, err := json.Marshal(rec.Config)
	if err != nil {
		return fmt.Errorf("sqlite: run %q config: %w", rec.ID, err)
	}
	// An upsert, not INSERT OR REPLACE: replacing the row would delete it
	// first, and the epochs, frames and shares with it.
	_, err = s.w.ExecContext(ctx, `
INSERT INTO runs (id, token_hash, session, name, config, state, error, created, updated, owner, heartbeat)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	token_hash = excluded.token_hash, session = excluded.session, name = excluded.name,
	config = excluded.config, state = excluded.state, error = excluded.error,
	created = excluded.created, updated = excluded.updated, owner = excluded.owner, heartbeat = excluded.heartbeat`,
		rec.ID, rec.TokenHash[:], rec.Session, rec.Name, string(config), string(rec.State), rec.Error,
		rec.Created.UnixMicro(), rec.Updated.UnixMicro(), rec.Owner, micros(rec.Heartbeat))
	return runWriteErr(err, rec.ID, "put")
}

// Heartbeat sets the heartbeat of owner's runs that have not ended.
func (s *Store) Heartbeat(ctx context.Context, owner string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, "UPDATE runs SET heartbeat = ? WHERE owner = ? AND state IN (?, ?, ?)",
		micros(at), owner, string(run.Queued), string(run.Running), string(run.Paused))
	if err != nil {
		return fmt.Errorf("sqlite: heartbeat of %q: %w", owner, err)
	}
	return nil
}

// micros is t as the schema stores times, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Run returns a run's record.
func (s *Store) Run(ctx context.Context, id string) (run.Record, error) {
	rec, err := scanRecord(s.r.QueryRowContext(ctx, "SELECT "+recordColumns+" FROM runs r WHERE r.id = ?", id))
	return rec, lookupErr(err, "run %q", id)
}

// Runs lists the runs f keeps, newest first (by Created, then ID), each
// with its newest epoch's number and metrics, read without the epoch's
// embeddings.
func (s *Store) Runs(ctx context.Context, f run.RunFilter) ([]run.Listing, error) {
	var (
		q    strings.Builder
		args []any
		and  = " WHERE "
	)
	q.WriteString("SELECT " + recordColumns + ", e.epoch, e.metrics " + listingFrom)
	if f.Session != "" {
		q.WriteString(and + "(r.session = ? OR r.id IN (SELECT run_id FROM run_shares WHERE session = ?))")
		args = append(args, f.Session, f.Session)
		and = " AND "
	}
	if len(f.States) > 0 {
		q.WriteString(and + "r.state IN (?" + strings.Repeat(", ?", len(f.States)-1) + ")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	q.WriteString(" ORDER BY r.created DESC, r.id DESC")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err == nil {
		var list []run.Listing
		list, err = collect(rows, func(row scanner) (run.Listing, error) {
			var (
				epoch   sql.NullInt64
				metrics []byte
			)
			rec, err := scanRecord(row, &epoch, &metrics)
			l := run.Listing{Record: rec, Epoch: -1, Shared: f.Session != "" && rec.Session != f.Session}
			if epoch.Valid {
				l.Epoch, l.Metrics = int(epoch.Int64), metrics
			}
			return l, err
		})
		if err == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("sqlite: listing runs: %w", err)
}

// DeleteRun removes a run with its epochs, frames, checkpoint and shares
// (the schema's foreign keys cascade).
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "DELETE FROM runs WHERE id = ?", "run", id)
}

// ShareRun records that session opened the run's link.
func (s *Store) ShareRun(ctx context.Context, id, session string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var creator string
		err := tx.QueryRowContext(ctx, "SELECT session FROM runs WHERE id = ?", id).Scan(&creator)
		if err != nil || creator == session {
			return lookupErr(err, "run %q", id)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO run_shares (run_id, session) VALUES (?, ?) ON CONFLICT DO NOTHING", id, session)
		return runWriteErr(err, id, "sharing")
	})
}
