package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Files keeps uploads' files, each under its upload's id and one of a few
// fixed names (never anything the client sent): in a folder on this
// machine (DirFiles, the default), or in a database every replica reads
// (run/postgres), so that no disk has to be shared.
type Files interface {
	// KeepUploadFile takes the spool file at path (on this machine) as the
	// upload's file name; path is gone afterwards, whatever the outcome.
	KeepUploadFile(ctx context.Context, id, name, path string) error
	// OpenUploadFile opens a kept file; one that is not kept is an error
	// wrapping os.ErrNotExist.
	OpenUploadFile(ctx context.Context, id, name string) (io.ReadCloser, error)
	// DeleteUploadFiles removes an upload's files; none is not an error.
	DeleteUploadFiles(ctx context.Context, id string) error
	// UploadFileIDs lists the uploads that have files, all kept before
	// keptBefore.
	UploadFileIDs(ctx context.Context, keptBefore time.Time) ([]string, error)
}

// DirFiles keeps uploads' files in dir, a folder per upload.
type DirFiles string

var _ Files = DirFiles("")

// KeepUploadFile moves the spool file into the upload's folder.
func (d DirFiles) KeepUploadFile(_ context.Context, id, name, path string) error {
	dir := filepath.Join(string(d), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		os.Remove(path)
		return fmt.Errorf("upload folder: %w", err)
	}
	if err := os.Rename(path, filepath.Join(dir, name)); err != nil {
		os.Remove(path)
		return fmt.Errorf("keeping an upload: %w", err)
	}
	return nil
}

// OpenUploadFile opens a file of an upload's folder.
func (d DirFiles) OpenUploadFile(_ context.Context, id, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(string(d), id, name))
}

// DeleteUploadFiles removes an upload's folder.
func (d DirFiles) DeleteUploadFiles(_ context.Context, id string) error {
	return os.RemoveAll(filepath.Join(string(d), id))
}

// UploadFileIDs lists the folders named like uploads, last changed before
// keptBefore.
func (d DirFiles) UploadFileIDs(_ context.Context, keptBefore time.Time) ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading the uploads folder: %w", err)
	}
	var ids []string
	for _, de := range entries {
		if !de.IsDir() || !IsUpload(de.Name()) {
			continue
		}
		if fi, err := de.Info(); err == nil && !fi.ModTime().After(keptBefore) {
			ids = append(ids, de.Name())
		}
	}
	return ids, nil
}
