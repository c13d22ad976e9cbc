package sampledata

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The helpers below are for the generators under tools/, which write the
// files this package embeds; the explorer itself never calls them.

// ErrOutOfDate is returned by Publish in check mode when a file on disk
// differs from what the generator made.
var ErrOutOfDate = errors.New("sample data is out of date")

// Encode returns a dataset's two files as they are stored: body gzipped at
// the best compression (no name or time in the header, so the bytes depend
// only on body and Go's compressor) under dataName, and m as indented JSON
// with a final newline under "meta.json".
func Encode(dataName string, body []byte, m any) (data, meta []byte, err error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return gz.Bytes(), append(mj, '\n'), nil
}

// Publish writes a dataset's data file (named dataName) and meta.json into
// dir/name, reporting each to w. With check it writes nothing: it reports
// the files that differ from data and meta and returns ErrOutOfDate if any
// does, or says the dataset is up to date.
func Publish(w io.Writer, dir, name, dataName string, data, meta []byte, check bool) error {
	differ := false
	for _, f := range []struct {
		name string
		data []byte
	}{{dataName, data}, {"meta.json", meta}} {
		path := filepath.Join(dir, name, f.name)
		if check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, f.data) {
				fmt.Fprintf(w, "%s: differs\n", path)
				differ = true
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %d bytes\n", path, len(f.data))
	}
	if differ {
		return fmt.Errorf("%s: %w", name, ErrOutOfDate)
	}
	if check {
		fmt.Fprintf(w, "%s sample data up to date\n", name)
	}
	return nil
}
