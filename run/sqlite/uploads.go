package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/contrastive-explorer/explorer/run"
)

// uploadColumns are the columns of uploads scanUpload reads.
const uploadColumns = "id, session, file_name, format, options, files, bytes, info, created"

// scanUpload scans uploadColumns.
func scanUpload(row scanner) (run.Upload, error) {
	var (
		u                    run.Upload
		options, files, info []byte
		created              int64
	)
	if err := row.Scan(&u.ID, &u.Session, &u.FileName, &u.Format, &options, &files, &u.Bytes, &info, &created); err != nil {
		return run.Upload{}, err
	}
	if err := json.Unmarshal(files, &u.Files); err != nil {
		return run.Upload{}, fmt.Errorf("upload %q files: %w", u.ID, err)
	}
	if err := json.Unmarshal(info, &u.Info); err != nil {
		return run.Upload{}, fmt.Errorf("upload %q info: %w", u.ID, err)
	}
	u.Options, u.Created = options, fromMicros(created)
	return u, nil
}

// PutUpload creates or replaces an upload's record.
func (s *Store) PutUpload(ctx context.Context, u run.Upload) error {
	files, err := json.Marshal(u.Files)
	if err != nil {
		return fmt.Errorf("sqlite: upload %q files: %w", u.ID, err)
	}
	info, err := json.Marshal(u.Info)
	if err != nil {
		return fmt.Errorf("sqlite: upload %q info: %w", u.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `
INSERT INTO uploads (`+uploadColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	session = excluded.session, file_name = excluded.file_name, format = excluded.format,
	options = excluded.options, files = excluded.files, bytes = excluded.bytes,
	info = excluded.info, created = excluded.created`,
		u.ID, u.Session, u.FileName, u.Format, text(u.Options), string(files), u.Bytes, string(info), u.Created.UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlite: put upload %q: %w", u.ID, err)
	}
	return nil
}

// Upload returns an upload's record.
func (s *Store) Upload(ctx context.Context, id string) (run.Upload, error) {
	u, err := scanUpload(s.r.QueryRowContext(ctx, "SELECT "+uploadColumns+" FROM uploads WHERE id = ?", id))
	return u, lookupErr(err, "upload %q", id)
}

// Uploads lists a session's uploads ("" for every session's), oldest
// first (by Created, then ID).
func (s *Store) Uploads(ctx context.Context, session string) ([]run.Upload, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+uploadColumns+" FROM uploads WHERE ?1 = '' OR session = ?1 ORDER BY created, id", session)
	if err == nil {
		var list []run.Upload
		if list, err = collect(rows, scanUpload); err == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("sqlite: listing uploads: %w", err)
}

// DeleteUpload removes an upload's record; an upload that does not exist
// is an error wrapping run.ErrNotFound.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "DELETE FROM uploads WHERE id = ?", "upload", id)
}
