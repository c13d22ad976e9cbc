// Package sqlite implements run.Store in a SQLite file, through
// modernc.org/sqlite, a pure-Go driver, so building the explorer needs no C
// toolchain.
//
// The file is in WAL mode with synchronous=NORMAL: a commit is in the WAL
// before it returns, so a process that is killed loses no committed
// transaction (only a crash of the OS or power may lose the last ones, never
// corrupt the file). Writes go through one connection, so they queue in Go
// rather than fail on SQLite's lock; reads use a pool and do not wait for
// writes. Open checks the file and brings its schema to the current version
// (schema.go); embeddings and coordinates are stored compactly (run/floatblob).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/contrastive-explorer/explorer/run"
)

// busyTimeout is how long a statement waits for another process's lock
// (a second explorer on the same file, a backup) before it fails.
const busyTimeout = 5 * time.Second

// readers bounds the read pool's connections.
const readers = 4

// Store is a run.Store in a SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection: every write
	r    *sql.DB // a pool: every read

	closeOnce sync.Once
	closeErr  error
}

var _ run.Store = (*Store)(nil)

// Open opens the explorer database at path, creating it when it does not
// exist, and migrates it to the current schema. A file that is not an
// explorer database, is damaged (PRAGMA quick_check fails) or was written
// by a newer explorer is an error naming path. The context bounds only the
// opening.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{path: path}
	s.w, err = sql.Open("sqlite", dsn(abs, true))
	if err == nil {
		s.r, err = sql.Open("sqlite", dsn(abs, false))
	}
	if err == nil {
		s.w.SetMaxOpenConns(1)
		s.r.SetMaxOpenConns(readers)
		s.r.SetMaxIdleConns(readers)
		err = check(ctx, s.w, "quick_check")
	}
	if err == nil {
		err = migrate(ctx, s.w, path)
	}
	if err != nil {
		s.closeDBs()
		if code := errorCode(err) & 0xff; code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB {
			return nil, fmt.Errorf("sqlite: open %s: the file is damaged or not a database: %w", path, err)
		}
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// dsn returns the driver's name for the database file at abs, for the
// writer's connection or the readers'. Every connection waits busyTimeout
// for locks and enforces foreign keys (SQLite's default is off).
func dsn(abs string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		// The journal mode is the file's, set once by the writer; every
		// write transaction takes the lock at BEGIN, so none fails with
		// SQLITE_BUSY half way through.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	// A file: URI, so a path with '?' or '#' in it is not taken for
	// parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// check runs PRAGMA quick_check or integrity_check on db and returns an
// error holding its first complaints unless it answers "ok".
func check(ctx context.Context, db *sql.DB, pragma string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma+"(5)")
	if err != nil {
		return err
	}
	problems, err := collect(rows, func(row scanner) (line string, err error) {
		return line, row.Scan(&line)
	})
	if err != nil {
		return err
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("the database is damaged (%s): %s", pragma, strings.Join(problems, "; "))
}

// IntegrityCheck runs SQLite's full check of the file (PRAGMA
// integrity_check), returning an error naming the file and the first
// problems found, nil when it is sound. It reads every page: seconds for a
// large file.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if err := check(ctx, s.r, "integrity_check"); err != nil {
		return fmt.Errorf("sqlite: %s: %w", s.path, err)
	}
	return nil
}

// Close checkpoints the WAL into the database file, truncating it, and
// closes the store. Calling it again returns the first call's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Readers first: an open read transaction would hold the checkpoint
		// back.
		err := s.r.Close()
		if _, cerr := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); cerr != nil {
			err = errors.Join(err, fmt.Errorf("checkpointing the WAL: %w", cerr))
		}
		err = errors.Join(err, s.w.Close())
		if err != nil {
			s.closeErr = fmt.Errorf("sqlite: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// closeDBs closes what Open opened, after a failure.
func (s *Store) closeDBs() {
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			db.Close()
		}
	}
}

// write runs fn in a transaction of the writer and commits it, rolling
// back when fn fails.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// deleteByID runs query, a DELETE of the row of what (a run, an upload)
// with id, and returns an error wrapping run.ErrNotFound when there was
// none.
func (s *Store) deleteByID(ctx context.Context, query, what, id string) error {
	res, err := s.w.ExecContext(ctx, query, id)
	if err != nil {
		return fmt.Errorf("sqlite: deleting %s %q: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: deleting %s %q: %w", what, id, err)
	}
	if n == 0 {
		return notFound("%s %q", what, id)
	}
	return nil
}

// notFound returns an error wrapping run.ErrNotFound that names what is
// missing, formatted as by fmt.Sprintf (`run "r-1" epoch 3`).
func notFound(format string, args ...any) error {
	return fmt.Errorf("sqlite: %s: %w", fmt.Sprintf(format, args...), run.ErrNotFound)
}

// lookupErr returns err, from reading the row of what is named by
// format and args (`run "r-1" epoch 3`), with context; no row becomes
// run.ErrNotFound.
func lookupErr(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return notFound(format, args...)
	}
	return fmt.Errorf("sqlite: %s: %w", fmt.Sprintf(format, args...), err)
}

// runWriteErr returns err, from a write of run id's rows, with context; a
// foreign key that found no run becomes run.ErrNotFound.
func runWriteErr(err error, id, what string) error {
	if err == nil {
		return nil
	}
	if errorCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return notFound("run %q", id)
	}
	return fmt.Errorf("sqlite: %s of run %q: %w", what, id, err)
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect returns the values scan makes of each of rows, and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
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

// errorCode returns the SQLite result code (extended, when SQLite gave
// one) of err, 0 when err is not SQLite's.
func errorCode(err error) int {
	var se *modernc.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// fromMicros returns the time us microseconds after the Unix epoch, as
// the schema stores times, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// text returns b as a TEXT argument, NULL for nil: the JSON columns are
// TEXT, and a STRICT table refuses a BLOB in them.
func text(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
