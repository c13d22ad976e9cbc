package sampledata

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// readLines returns the lines of m's gzipped data file.
func readLines(m *meta) ([]string, error) {
	f, err := files.Open(path.Join(m.Name, m.Data))
	if err != nil {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	raw, err := io.ReadAll(zr) // to the end, so gzip checks its CRC
	if err != nil {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// labelSplit parses the "label<TAB>split" prefix both text formats share.
func labelSplit(m *meta, i int, label, split string) (int32, dataset.Split, error) {
	l, err1 := strconv.Atoi(label)
	s, err2 := strconv.Atoi(split)
	if err1 != nil || err2 != nil || l < 0 || l >= len(m.ClassNames) || (s != 0 && s != 1) {
		return 0, 0, fmt.Errorf("sampledata: %s: item %d has label %q split %q", m.Name, i, label, split)
	}
	return int32(l), dataset.Split(s), nil
}

// decodeText reads a text dataset: one line per item,
// label<TAB>split<TAB>headwords<TAB>text, headwords separated by "|". The
// features are the texts' hashed n-grams in m.Dim buckets.
func decodeText(m *meta) (*dataset.Dataset, error) {
	lines, err := readLines(m)
	if err != nil {
		return nil, err
	}
	if len(lines) != m.Items {
		return nil, fmt.Errorf("sampledata: %s: %d lines, meta.json says %d items", m.Name, len(lines), m.Items)
	}
	h := dataset.NewHasher(dataset.HashOptions{Buckets: m.Dim})
	n := m.Items
	ds := &dataset.Dataset{
		Name: m.Name, Title: m.Title, Description: m.Description, Source: m.Source, License: m.License,
		Kind:       dataset.Text,
		Dim:        m.Dim,
		Hash:       h.Options(),
		Labels:     make([]int32, n),
		ClassNames: slices.Clone(m.ClassNames),
		Splits:     make([]dataset.Split, n),
		Text:       make([]string, n),
		Headwords:  make([][]string, n),
		Sparse:     &dataset.CSR{Cols: m.Dim, Indptr: make([]int, 1, n+1)},
	}
	sp := ds.Sparse
	test := 0
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("sampledata: %s: line %d has %d fields, want 4", m.Name, i+1, len(f))
		}
		if ds.Labels[i], ds.Splits[i], err = labelSplit(m, i, f[0], f[1]); err != nil {
			return nil, err
		}
		if ds.Splits[i] == dataset.Test {
			test++
		}
		if f[2] != "" {
			ds.Headwords[i] = strings.Split(f[2], "|")
		}
		ds.Text[i] = f[3]
		sp.Indices, sp.Values = h.Append(sp.Indices, sp.Values, f[3])
		sp.Indptr = append(sp.Indptr, len(sp.Indices))
	}
	if test != m.Test {
		return nil, fmt.Errorf("sampledata: %s: %d test items, meta.json says %d", m.Name, test, m.Test)
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("sampledata: %w", err)
	}
	return ds, nil
}

// decodeInteractions reads an interactions dataset: m.Items lines
// genre<TAB>split<TAB>name, then m.Users lines of space-separated item
// indices in play order, the last being the held-out play.
func decodeInteractions(m *meta) (*dataset.Dataset, error) {
	lines, err := readLines(m)
	if err != nil {
		return nil, err
	}
	if len(lines) != m.Items+m.Users {
		return nil, fmt.Errorf("sampledata: %s: %d lines, meta.json says %d items and %d users", m.Name, len(lines), m.Items, m.Users)
	}
	n := m.Items
	ds := &dataset.Dataset{
		Name: m.Name, Title: m.Title, Description: m.Description, Source: m.Source, License: m.License,
		Kind:       dataset.Interactions,
		Dim:        n,
		Sparse:     dataset.Identity(n),
		Labels:     make([]int32, n),
		ClassNames: slices.Clone(m.ClassNames),
		Splits:     make([]dataset.Split, n),
		ItemNames:  make([]string, n),
		Users:      make([][]int32, m.Users),
		HeldOut:    make([]int32, m.Users),
	}
	test := 0
	for i, line := range lines[:n] {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("sampledata: %s: item line %d has %d fields, want 3", m.Name, i+1, len(f))
		}
		if ds.Labels[i], ds.Splits[i], err = labelSplit(m, i, f[0], f[1]); err != nil {
			return nil, err
		}
		if ds.Splits[i] == dataset.Test {
			test++
		}
		ds.ItemNames[i] = f[2]
	}
	if test != m.Test {
		return nil, fmt.Errorf("sampledata: %s: %d test items, meta.json says %d", m.Name, test, m.Test)
	}
	all := make([]int32, 0, m.Plays)
	for u, line := range lines[n:] {
		start := len(all)
		for _, field := range strings.Fields(line) {
			it, err := strconv.Atoi(field)
			if err != nil || it < 0 || it >= n {
				return nil, fmt.Errorf("sampledata: %s: user %d plays item %q", m.Name, u, field)
			}
			all = append(all, int32(it))
		}
		seq := all[start:len(all):len(all)]
		ds.HeldOut[u] = dataset.NoLabel
		if len(seq) >= 2 {
			ds.HeldOut[u] = seq[len(seq)-1]
			seq = seq[: len(seq)-1 : len(seq)-1]
		}
		ds.Users[u] = seq
	}
	if len(all) != m.Plays {
		return nil, fmt.Errorf("sampledata: %s: %d plays, meta.json says %d", m.Name, len(all), m.Plays)
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("sampledata: %w", err)
	}
	return ds, nil
}
