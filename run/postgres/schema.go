package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema's versions: migrations[v] takes a database
// from version v-1 (explorer_schema.version) to v, in one transaction;
// version 0 is a database without explorer tables. Append to the list;
// never edit a migration that has shipped.
//
// Times are timestamptz (microseconds); JSON columns are text holding the
// encoding the Go types give (NULL for a nil json.RawMessage), not jsonb,
// which would reorder keys and so not round trip; float32 arrays are bytea
// in run/floatblob's formats. Versions 1 and 2 match run/sqlite's, so the
// two schemas are one design; 3 is PostgreSQL's alone (SQLite's uploads'
// files are in the data folder).
var migrations = []string{
	1: `
CREATE TABLE runs (
	id         text PRIMARY KEY,
	token_hash bytea NOT NULL,
	session    text NOT NULL,
	name       text NOT NULL,
	config     text NOT NULL,
	state      text NOT NULL,
	error      text NOT NULL,
	created    timestamptz NOT NULL,
	updated    timestamptz NOT NULL
);
CREATE INDEX runs_by_created ON runs (created DESC, id DESC);
CREATE INDEX runs_by_session ON runs (session, created DESC, id DESC);

CREATE TABLE run_shares (
	run_id  text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	session text NOT NULL,
	PRIMARY KEY (run_id, session)
);
CREATE INDEX run_shares_by_session ON run_shares (session);

CREATE TABLE epochs (
	run_id     text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	epoch      integer NOT NULL,
	metrics    text,
	dim        integer NOT NULL,
	embeddings bytea NOT NULL,
	PRIMARY KEY (run_id, epoch)
);

CREATE TABLE checkpoints (
	run_id text PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	epoch  integer NOT NULL,
	state  bytea NOT NULL
);

CREATE TABLE frames (
	run_id   text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	epoch    integer NOT NULL,
	method   text NOT NULL,
	dims     integer NOT NULL,
	quality  text NOT NULL,
	metrics  text,
	backfill boolean NOT NULL,
	sent     timestamptz NOT NULL,
	coords   bytea NOT NULL,
	PRIMARY KEY (run_id, epoch)
);

CREATE TABLE uploads (
	id        text PRIMARY KEY,
	session   text NOT NULL,
	file_name text NOT NULL,
	format    text NOT NULL,
	options   text,
	files     text NOT NULL,
	bytes     bigint NOT NULL,
	info      text NOT NULL,
	created   timestamptz NOT NULL
);
CREATE INDEX uploads_by_session ON uploads (session, created, id);
`,
	// Each epoch's example pairs (run.PairRecord as JSON); NULL for epochs
	// recorded before.
	2: `
ALTER TABLE epochs ADD COLUMN pairs text;
`,
	// Uploads' files, so replicas need no shared disk: each file in chunks
	// of up to uploadChunk bytes, written and read one at a time, so
	// neither side holds a whole file in memory. Written before the
	// upload's record, so no foreign key to uploads.
	3: `
CREATE TABLE upload_chunks (
	upload_id text NOT NULL,
	name      text NOT NULL,
	seq       integer NOT NULL,
	data      bytea NOT NULL,
	kept      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (upload_id, name, seq)
);
`,
	// The replica that queues or trains a run, and when it last said it
	// is alive (NULL for never): run/sqlite's version 3.
	4: `
ALTER TABLE runs ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN heartbeat timestamptz;
`,
	// The run queue (queue.go): queued runs, oldest first.
	5: `
CREATE INDEX runs_queued ON runs (created, id) WHERE state = 'queued';
`,
}

// schemaVersion is the version migrations bring a database to.
var schemaVersion = len(migrations) - 1

// migrationLock is the advisory lock key migrations hold ("CEXP"), so
// replicas that start together take turns: the first migrates, the others
// then find the schema current.
const migrationLock = 0x43455850

// migrate brings the database to schemaVersion in one transaction under
// the advisory lock. A database of a newer version, written by a newer
// explorer, is an error: this one would misread it.
func migrate(ctx context.Context, db *pgxpool.Pool) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // after Commit, a no-op
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS explorer_schema (version integer NOT NULL)"); err != nil {
		return err
	}
	var version int
	switch err := tx.QueryRow(ctx, "SELECT version FROM explorer_schema").Scan(&version); {
	case err == pgx.ErrNoRows:
		if _, err := tx.Exec(ctx, "INSERT INTO explorer_schema (version) VALUES (0)"); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than %d, the newest this explorer knows: a newer explorer wrote it", version, schemaVersion)
	}
	for v := version + 1; v <= schemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrating to schema version %d: %w", v, err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE explorer_schema SET version = $1", schemaVersion); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// checkVersion returns an error unless the database's schema is the
// version this explorer writes.
func checkVersion(ctx context.Context, db *pgxpool.Pool) error {
	var version int
	err := db.QueryRow(ctx, "SELECT version FROM explorer_schema").Scan(&version)
	switch {
	case err != nil:
		return fmt.Errorf("the database holds no explorer runs (%w); start `explorer serve --store` on it first", err)
	case version > schemaVersion:
		return fmt.Errorf("the database has schema version %d, newer than %d, the newest this explorer knows: use the explorer that serves it", version, schemaVersion)
	case version < schemaVersion:
		return fmt.Errorf("the database has schema version %d, older than this explorer's %d: use the explorer that serves it, or upgrade the servers first", version, schemaVersion)
	}
	return nil
}
