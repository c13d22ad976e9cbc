package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contrastive-explorer/explorer/run"
)

// recordColumns are the columns of runs scanRecord reads, prefixed r.
const recordColumns = "r.id, r.token_hash, r.session, r.name, r.config, r.state, r.error, r.created, r.updated, r.owner, r.heartbeat"

// scanRecord scans recordColumns, then into extra.
func scanRecord(row pgx.Row, extra ...any) (run.Record, error) {
	var (
		rec    run.Record
		hash   []byte
		config string
		state  string
		beat   *time.Time
	)
	dest := append([]any{&rec.ID, &hash, &rec.Session, &rec.Name, &config, &state, &rec.Error, &rec.Created, &rec.Updated, &rec.Owner, &beat}, extra...)
	if err := row.Scan(dest...); err != nil {
		return run.Record{}, err
	}
	if len(hash) != len(rec.TokenHash) {
		return run.Record{}, fmt.Errorf("run %q has a token hash of %d bytes", rec.ID, len(hash))
	}
	copy(rec.TokenHash[:], hash)
	if err := json.Unmarshal([]byte(config), &rec.Config); err != nil {
		return run.Record{}, fmt.Errorf("run %q config: %w", rec.ID, err)
	}
	rec.State = run.State(state)
	rec.Created, rec.Updated = rec.Created.UTC(), rec.Updated.UTC()
	if beat != nil {
		rec.Heartbeat = beat.UTC()
	}
	return rec, nil
}

// PutRun creates or replaces a run's record, keeping its epochs, frames,
// checkpoint and shares.
func (s *Store) PutRun(ctx context.Context, rec run.Record) error {
	config, err := json.Marshal(rec.Config)
	if err != nil {
		return fmt.Errorf("postgres: run %q config: %w", rec.ID, err)
	}
	_, err = s.db.Exec(ctx, `
INSERT INTO runs (id, token_hash, session, name, config, state, error, created, updated, owner, heartbeat)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO UPDATE SET
	token_hash = excluded.token_hash, session = excluded.session, name = excluded.name,
	config = excluded.config, state = excluded.state, error = excluded.error,
	created = excluded.created, updated = excluded.updated, owner = excluded.owner, heartbeat = excluded.heartbeat`,
		rec.ID, rec.TokenHash[:], rec.Session, rec.Name, string(config), string(rec.State), rec.Error, rec.Created, rec.Updated,
		rec.Owner, nullTime(rec.Heartbeat))
	return runWriteErr(err, rec.ID, "put")
}

// Heartbeat sets the heartbeat of owner's runs that have not ended.
func (s *Store) Heartbeat(ctx context.Context, owner string, at time.Time) error {
	_, err := s.db.Exec(ctx, "UPDATE runs SET heartbeat = $1 WHERE owner = $2 AND state = ANY($3)",
		at, owner, []string{string(run.Queued), string(run.Running), string(run.Paused)})
	if err != nil {
		return fmt.Errorf("postgres: heartbeat of %q: %w", owner, err)
	}
	return nil
}

// nullTime is t as an argument, NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Run returns a run's record.
func (s *Store) Run(ctx context.Context, id string) (run.Record, error) {
	rec, err := scanRecord(s.db.QueryRow(ctx, "SELECT "+recordColumns+" FROM runs r WHERE r.id = $1", id))
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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	// The newest epoch of each run through the epochs' primary key.
	q.WriteString("SELECT " + recordColumns + `, e.epoch, e.metrics FROM runs r
LEFT JOIN LATERAL (SELECT epoch, metrics FROM epochs WHERE run_id = r.id ORDER BY epoch DESC LIMIT 1) e ON true`)
	if f.Session != "" {
		p := arg(f.Session)
		q.WriteString(and + "(r.session = " + p + " OR r.id IN (SELECT run_id FROM run_shares WHERE session = " + p + "))")
		and = " AND "
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		q.WriteString(and + "r.state = ANY(" + arg(states) + ")")
	}
	q.WriteString(" ORDER BY r.created DESC, r.id DESC")
	if f.Limit > 0 {
		q.WriteString(" LIMIT " + arg(f.Limit))
	}
	rows, err := s.db.Query(ctx, q.String(), args...)
	if err == nil {
		var list []run.Listing
		list, err = collect(rows, func(row pgx.Row) (run.Listing, error) {
			var (
				epoch   *int32
				metrics []byte
			)
			rec, err := scanRecord(row, &epoch, &metrics)
			l := run.Listing{Record: rec, Epoch: -1, Shared: f.Session != "" && rec.Session != f.Session}
			if epoch != nil {
				l.Epoch, l.Metrics = int(*epoch), metrics
			}
			return l, err
		})
		if err == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("postgres: listing runs: %w", err)
}

// DeleteRun removes a run with its epochs, frames, checkpoint and shares
// (the schema's foreign keys cascade).
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "DELETE FROM runs WHERE id = $1", "run", id)
}

// ShareRun records that session opened the run's link.
func (s *Store) ShareRun(ctx context.Context, id, session string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var creator string
		err := tx.QueryRow(ctx, "SELECT session FROM runs WHERE id = $1", id).Scan(&creator)
		if err != nil || creator == session {
			return lookupErr(err, "run %q", id)
		}
		_, err = tx.Exec(ctx, "INSERT INTO run_shares (run_id, session) VALUES ($1, $2) ON CONFLICT DO NOTHING", id, session)
		return runWriteErr(err, id, "sharing")
	})
}
