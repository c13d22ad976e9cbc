package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// uploadChunk is the most bytes of an uploaded file one row holds.
const uploadChunk = 1 << 20

// KeepUploadFile stores the spool file at path as the upload's file name,
// in one transaction of chunks (any earlier file of that name replaced),
// and removes path.
func (s *Store) KeepUploadFile(ctx context.Context, id, name, path string) error {
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("postgres: upload %q: %w", id, err)
	}
	defer f.Close()
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM upload_chunks WHERE upload_id = $1 AND name = $2", id, name); err != nil {
			return err
		}
		buf := make([]byte, uploadChunk)
		for seq := 0; ; seq++ {
			n, err := io.ReadFull(f, buf)
			if n > 0 || seq == 0 {
				if _, err := tx.Exec(ctx, "INSERT INTO upload_chunks (upload_id, name, seq, data) VALUES ($1, $2, $3, $4)", id, name, seq, buf[:n]); err != nil {
					return err
				}
			}
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return nil
			case err != nil:
				return err
			}
		}
	})
	if err != nil {
		return fmt.Errorf("postgres: keeping upload %q file %s: %w", id, name, err)
	}
	return nil
}

// OpenUploadFile reads a kept file back, a chunk per query.
func (s *Store) OpenUploadFile(ctx context.Context, id, name string) (io.ReadCloser, error) {
	var chunks int
	err := s.db.QueryRow(ctx, "SELECT count(*) FROM upload_chunks WHERE upload_id = $1 AND name = $2", id, name).Scan(&chunks)
	if err != nil {
		return nil, fmt.Errorf("postgres: upload %q file %s: %w", id, name, err)
	}
	if chunks == 0 {
		return nil, fmt.Errorf("postgres: upload %q file %s: %w", id, name, os.ErrNotExist)
	}
	return &chunkReader{s: s, ctx: ctx, id: id, name: name, chunks: chunks}, nil
}

// chunkReader reads a kept file's chunks in order.
type chunkReader struct {
	s        *Store
	ctx      context.Context
	id, name string
	chunks   int
	next     int    // the next chunk to fetch
	buf      []byte // what is left of the last one fetched
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next == r.chunks {
			return 0, io.EOF
		}
		err := r.s.db.QueryRow(r.ctx, "SELECT data FROM upload_chunks WHERE upload_id = $1 AND name = $2 AND seq = $3", r.id, r.name, r.next).Scan(&r.buf)
		if err != nil {
			return 0, fmt.Errorf("postgres: upload %q file %s chunk %d: %w", r.id, r.name, r.next, err)
		}
		r.next++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) Close() error { return nil }

// DeleteUploadFiles removes an upload's files.
func (s *Store) DeleteUploadFiles(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM upload_chunks WHERE upload_id = $1", id); err != nil {
		return fmt.Errorf("postgres: deleting upload %q files: %w", id, err)
	}
	return nil
}

// UploadFileIDs lists the uploads that have files, all kept before
// keptBefore.
func (s *Store) UploadFileIDs(ctx context.Context, keptBefore time.Time) ([]string, error) {
	rows, err := s.db.Query(ctx, "SELECT upload_id FROM upload_chunks GROUP BY upload_id HAVING max(kept) < $1 ORDER BY upload_id", keptBefore)
	if err == nil {
		var ids []string
		if ids, err = collect(rows, func(row pgx.Row) (id string, err error) { return id, row.Scan(&id) }); err == nil {
			return ids, nil
		}
	}
	return nil, fmt.Errorf("postgres: listing uploads' files: %w", err)
}
