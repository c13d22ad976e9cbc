// Package postgres implements run.Store in a PostgreSQL database, through
// github.com/jackc/pgx/v5, for explorers that run as several replicas
// sharing one store (docs/scaling.md). The single binary's default stays
// run/sqlite; this one is chosen by `--store postgres://...`.
//
// Open brings the schema to the current version (schema.go) under an
// advisory lock, so replicas started together migrate once. Embeddings and
// coordinates are bytea in run/floatblob's format, the same as the SQLite
// store's; JSON is kept as the text the Go types give, so it round trips
// byte for byte.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contrastive-explorer/explorer/run"
)

// Store is a run.Store in a PostgreSQL database. It is safe for concurrent
// use.
type Store struct {
	db   *pgxpool.Pool
	name string // the database's URL without its password, for errors

	closeOnce sync.Once
}

var _ run.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or a libpq
// key=value string) and migrates it to the current schema. A database of
// a newer schema, written by a newer explorer, is an error. The context
// bounds only the opening.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, migrate)
}

// OpenExisting is Open for a reader beside running servers (the CLI's runs
// and export): it migrates nothing, so an older server's schema is not
// changed under it, and a database not at this explorer's schema version
// is an error saying which is newer.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, checkVersion)
}

func open(ctx context.Context, dsn string, prepare func(context.Context, *pgxpool.Pool) error) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the string, password and all.
		return nil, errors.New("postgres: the store's address is not a PostgreSQL URL or connection string")
	}
	s := &Store{name: redact(cfg)}
	s.db, err = pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = s.db.Ping(ctx)
	}
	if err == nil {
		err = prepare(ctx, s.db)
	}
	if err != nil {
		if s.db != nil {
			s.db.Close()
		}
		return nil, fmt.Errorf("postgres: open %s: %w", s.name, err)
	}
	return s, nil
}

// redact names the database cfg connects to, without credentials.
func redact(cfg *pgxpool.Config) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), Path: "/" + cfg.ConnConfig.Database}
	if cfg.ConnConfig.User != "" {
		u.User = url.User(cfg.ConnConfig.User)
	}
	return u.String()
}

// Close closes the store's connections. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(s.db.Close)
	return nil
}

// write runs fn in a transaction and commits it, rolling back when fn
// fails.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// deleteByID runs query, a DELETE of the row of what (a run, an upload)
// with id, and returns an error wrapping run.ErrNotFound when there was
// none.
func (s *Store) deleteByID(ctx context.Context, query, what, id string) error {
	tag, err := s.db.Exec(ctx, query, id)
	if err != nil {
		return fmt.Errorf("postgres: deleting %s %q: %w", what, id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("%s %q", what, id)
	}
	return nil
}

// notFound returns an error wrapping run.ErrNotFound that names what is
// missing, formatted as by fmt.Sprintf (`run "r-1" epoch 3`).
func notFound(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), run.ErrNotFound)
}

// lookupErr returns err, from reading the row of what is named by format
// and args, with context; no row becomes run.ErrNotFound.
func lookupErr(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return notFound(format, args...)
	}
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), err)
}

// foreignKeyViolation is PostgreSQL's SQLSTATE for a foreign key that
// found no row.
const foreignKeyViolation = "23503"

// runWriteErr returns err, from a write of run id's rows, with context; a
// foreign key that found no run becomes run.ErrNotFound.
func runWriteErr(err error, id, what string) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == foreignKeyViolation {
		return notFound("run %q", id)
	}
	return fmt.Errorf("postgres: %s of run %q: %w", what, id, err)
}

// collect returns the values scan makes of each of rows, and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// text returns b as a text argument, NULL for nil.
func text(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
