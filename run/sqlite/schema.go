package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's versions: migrations[v] takes a database
// from version v-1 (PRAGMA user_version) to v, in one transaction; version
// 0 is an empty file. Append to the list; never edit a migration that has
// shipped.
//
// Times are integer microseconds since the Unix epoch (UTC), so they sort
// and compare in SQL; JSON columns hold the encoding the Go types give
// (NULL for a nil json.RawMessage); float32 arrays are blobs in the
// formats of run/floatblob. Big blobs come last in their row, so a query of
// the small columns before them reads no overflow page.
var migrations = []string{
	1: `
CREATE TABLE runs (
	id         TEXT PRIMARY KEY,
	token_hash BLOB NOT NULL,
	session    TEXT NOT NULL,
	name       TEXT NOT NULL,
	config     TEXT NOT NULL,
	state      TEXT NOT NULL,
	error      TEXT NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_by_created ON runs (created DESC, id DESC);
CREATE INDEX runs_by_session ON runs (session, created DESC, id DESC);

CREATE TABLE run_shares (
	run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	session TEXT NOT NULL,
	PRIMARY KEY (run_id, session)
) STRICT, WITHOUT ROWID;
CREATE INDEX run_shares_by_session ON run_shares (session);

CREATE TABLE epochs (
	run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	epoch      INTEGER NOT NULL,
	metrics    TEXT,
	dim        INTEGER NOT NULL,
	embeddings BLOB NOT NULL,
	PRIMARY KEY (run_id, epoch)
) STRICT;

CREATE TABLE checkpoints (
	run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	epoch  INTEGER NOT NULL,
	state  BLOB NOT NULL
) STRICT;

CREATE TABLE frames (
	run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	epoch    INTEGER NOT NULL,
	method   TEXT NOT NULL,
	dims     INTEGER NOT NULL,
	quality  TEXT NOT NULL,
	metrics  TEXT,
	backfill INTEGER NOT NULL,
	sent     INTEGER NOT NULL,
	coords   BLOB NOT NULL,
	PRIMARY KEY (run_id, epoch)
) STRICT;

CREATE TABLE uploads (
	id        TEXT PRIMARY KEY,
	session   TEXT NOT NULL,
	file_name TEXT NOT NULL,
	format    TEXT NOT NULL,
	options   TEXT,
	files     TEXT NOT NULL,
	bytes     INTEGER NOT NULL,
	info      TEXT NOT NULL,
	created   INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_by_session ON uploads (session, created, id);
`,
	// Each epoch's example pairs (run.PairRecord as JSON), after the
	// embeddings; NULL for epochs recorded before.
	2: `
ALTER TABLE epochs ADD COLUMN pairs TEXT;
`,
	// The replica that queues or trains a run, and when it last said it
	// is alive (0 for never).
	3: `
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN heartbeat INTEGER NOT NULL DEFAULT 0;
`,
}

// schemaVersion is the version migrations bring a database to.
var schemaVersion = len(migrations) - 1

// applicationID marks a SQLite file as an explorer database (PRAGMA
// application_id, "CEXP"), so that Open refuses another program's.
const applicationID = 0x43455850

// migrate brings the database w writes (the file at path) to schemaVersion,
// one migration per transaction. A database of a newer version, written by
// a newer explorer, is an error: this one would misread it.
func migrate(ctx context.Context, w *sql.DB, path string) error {
	for {
		done, err := migrateOnce(ctx, w, path)
		if done || err != nil {
			return err
		}
	}
}

// migrateOnce applies the migration the database's version calls for, if
// any, and reports whether the database was already at schemaVersion.
func migrateOnce(ctx context.Context, w *sql.DB, path string) (done bool, err error) {
	// The writer begins IMMEDIATE transactions: two processes opening a
	// new file cannot both read version 0 and both migrate.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // after Commit, a no-op
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	var app, objects int
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
		return false, err
	}
	switch {
	case version == 0 && objects == 0 && app == 0: // a new file
	case app != applicationID || version <= 0:
		return false, fmt.Errorf("%s is a SQLite database of another program (application id %#x, version %d)", path, app, version)
	case version > schemaVersion:
		return false, fmt.Errorf("%s has schema version %d, newer than %d, the newest this explorer knows: a newer explorer wrote it", path, version, schemaVersion)
	case version == schemaVersion:
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version+1]); err != nil {
		return false, fmt.Errorf("migrating %s to schema version %d: %w", path, version+1, err)
	}
	// PRAGMA takes no parameters: these are our own integers.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", version+1, applicationID)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}
