package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/contrastive-explorer/explorer/run"
)

// uploadColumns are the columns of uploads scanUpload reads.
const uploadColumns = "id, session, file_name, format, options, files, bytes, info, created"

// scanUpload scans uploadColumns.
func scanUpload(row pgx.Row) (run.Upload, error) {
	var (
		u           run.Upload
		options     []byte
		files, info string
	)
	if err := row.Scan(&u.ID, &u.Session, &u.FileName, &u.Format, &options, &files, &u.Bytes, &info, &u.Created); err != nil {
		return run.Upload{}, err
	}
	if err := json.Unmarshal([]byte(files), &u.Files); err != nil {
		return run.Upload{}, fmt.Errorf("upload %q files: %w", u.ID, err)
	}
	if err := json.Unmarshal([]byte(info), &u.Info); err != nil {
		return run.Upload{}, fmt.Errorf("upload %q info: %w", u.ID, err)
	}
	u.Options, u.Created = options, u.Created.UTC()
	return u, nil
}

// PutUpload creates or replaces an upload's record.
func (s *Store) PutUpload(ctx context.Context, u run.Upload) error {
	files, err := json.Marshal(u.Files)
	if err != nil {
		return fmt.Errorf("postgres: upload %q files: %w", u.ID, err)
	}
	info, err := json.Marshal(u.Info)
	if err != nil {
		return fmt.Errorf("postgres: upload %q info: %w", u.ID, err)
	}
	_, err = s.db.Exec(ctx, `
INSERT INTO uploads (`+uploadColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET
	session = excluded.session, file_name = excluded.file_name, format = excluded.format,
	options = excluded.options, files = excluded.files, bytes = excluded.bytes,
	info = excluded.info, created = excluded.created`,
		u.ID, u.Session, u.FileName, u.Format, text(u.Options), string(files), u.Bytes, string(info), u.Created)
	if err != nil {
		return fmt.Errorf("postgres: put upload %q: %w", u.ID, err)
	}
	return nil
}

// Upload returns an upload's record.
func (s *Store) Upload(ctx context.Context, id string) (run.Upload, error) {
	u, err := scanUpload(s.db.QueryRow(ctx, "SELECT "+uploadColumns+" FROM uploads WHERE id = $1", id))
	return u, lookupErr(err, "upload %q", id)
}

// Uploads lists a session's uploads ("" for every session's), oldest
// first (by Created, then ID).
func (s *Store) Uploads(ctx context.Context, session string) ([]run.Upload, error) {
	rows, err := s.db.Query(ctx, "SELECT "+uploadColumns+" FROM uploads WHERE $1 = '' OR session = $1 ORDER BY created, id", session)
	if err == nil {
		var list []run.Upload
		if list, err = collect(rows, scanUpload); err == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("postgres: listing uploads: %w", err)
}

// DeleteUpload removes an upload's record; an upload that does not exist
// is an error wrapping run.ErrNotFound.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "DELETE FROM uploads WHERE id = $1", "upload", id)
}
