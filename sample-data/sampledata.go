// Package sampledata bundles the datasets the explorer ships with, embedded
// in the binary so that `go run` works anywhere without downloads:
//
//   - "digits": all 1,797 UCI optical handwritten digits, 8×8 pixels, with a
//     fixed stratified 80/20 train/test split (CC BY 4.0).
//   - "fashion": the first 10,000 training and 2,000 test images of
//     Fashion-MNIST, 28×28 pixels (MIT licence).
//   - "interactions": SYNTHETIC listening histories, 5,000 made-up users
//     and 2,000 made-up tracks in 12 genres with planted taste groups; the
//     tracks are the points and each user's last play is held out (CC0).
//   - "wordnet": 6,000 definitions (glosses) from WordNet 3.0, 600 from
//     each of ten lexicographer categories, each with its headwords; text
//     features are hashed n-grams (WordNet 3.0 licence).
//
// The image files are produced by tools/sampledata/gen.go and the wordnet
// files by tools/wordnet/gen.go from Debian's packages; the interactions
// by tools/interactions/gen.go from a fixed seed. See README.md in this
// folder.
package sampledata

import (
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

//go:embed digits/meta.json digits/data.bin.gz fashion/meta.json fashion/data.bin.gz
//go:embed interactions/meta.json interactions/data.tsv.gz wordnet/meta.json wordnet/data.tsv.gz
var files embed.FS

// names lists the bundled datasets in the order List returns them.
var names = []string{"digits", "fashion", "interactions", "wordnet"}

// ErrUnknown is wrapped by the error Load returns for a name that is not
// bundled, so callers can tell bad input (for example HTTP 404) from a
// broken build.
var ErrUnknown = errors.New("unknown dataset")

// meta is the JSON written by the generators (tools/sampledata,
// tools/wordnet, tools/interactions) next to each data file.
type meta struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	License     string   `json:"license"`
	Kind        string   `json:"kind"`
	Items       int      `json:"items"`
	Train       int      `json:"train"`
	Test        int      `json:"test"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	MaxValue    int      `json:"max_value"` // images: pixel bytes run 0..MaxValue
	Dim         int      `json:"dim"`       // text: hash buckets; interactions: items
	Users       int      `json:"users"`     // interactions
	Plays       int      `json:"interactions"`
	ClassNames  []string `json:"class_names"`
	Data        string   `json:"data"`
}

func (m *meta) info() dataset.Info {
	dim := m.Dim
	if dataset.Kind(m.Kind) == dataset.Images {
		dim = m.Width * m.Height
	}
	return dataset.Info{
		Name: m.Name, Title: m.Title, Description: m.Description, Source: m.Source, License: m.License,
		Kind:  dataset.Kind(m.Kind),
		Items: m.Items, Train: m.Train, Test: m.Test,
		Dim: dim, Classes: len(m.ClassNames),
		Width: m.Width, Height: m.Height,
		Users: m.Users, Interactions: m.Plays,
	}
}

// consistent checks the fields each kind needs.
func (m *meta) consistent(name string) bool {
	if m.Name != name || m.Train+m.Test != m.Items || m.Items <= 0 || len(m.ClassNames) == 0 || m.Data == "" {
		return false
	}
	switch dataset.Kind(m.Kind) {
	case dataset.Images:
		return m.Width > 0 && m.Height > 0 && m.MaxValue > 0 && m.MaxValue <= 255
	case dataset.Text:
		return m.Dim > 0 && m.Dim <= dataset.MaxBuckets
	case dataset.Interactions:
		return m.Dim == m.Items && m.Users > 0 && m.Plays >= m.Users
	}
	return false
}

// metas reads every embedded meta.json once. The files are part of the
// build, so a bad one is a programmer error and panics (the tests catch it).
var metas = sync.OnceValue(func() map[string]*meta {
	ms := make(map[string]*meta, len(names))
	for _, name := range names {
		raw, err := files.ReadFile(name + "/meta.json")
		if err != nil {
			panic(fmt.Sprintf("sampledata: %v", err))
		}
		m := new(meta)
		if err := json.Unmarshal(raw, m); err != nil {
			panic(fmt.Sprintf("sampledata: %s/meta.json: %v", name, err))
		}
		if !m.consistent(name) {
			panic(fmt.Sprintf("sampledata: %s/meta.json is inconsistent", name))
		}
		ms[name] = m
	}
	return ms
})

// List returns the bundled datasets sorted by name. It does not decode any
// items, so it is cheap.
func List() []dataset.Info {
	ms := metas()
	infos := make([]dataset.Info, 0, len(names))
	for _, name := range names {
		infos = append(infos, ms[name].info())
	}
	return infos
}

type loaded struct {
	ds  *dataset.Dataset
	err error
}

// cache decodes each dataset at most once.
var cache = func() map[string]func() loaded {
	c := make(map[string]func() loaded, len(names))
	for _, name := range names {
		c[name] = sync.OnceValue(func() loaded {
			ds, err := decodeAny(metas()[name])
			return loaded{ds, err}
		})
	}
	return c
}()

// Load returns the named bundled dataset with labels and splits filled:
//
//   - images (digits, fashion): Kind dataset.Images, features the pixels
//     scaled to [0,1] (0 is background, 1 full ink);
//   - wordnet: Kind dataset.Text, Text the definitions, Headwords the words
//     each defines, Sparse their hashed n-gram features (HashFeatures with
//     Hash, 2^18 buckets);
//   - interactions: Kind dataset.Interactions, the tracks as items with
//     one-hot Sparse features, ItemNames, and per user the training plays
//     (Users) and the held-out last play (HeldOut).
//
// It decodes the dataset on first use (about 0.1 s for fashion, a few
// milliseconds for the others) and afterwards returns the same
// *dataset.Dataset, which is shared and must not be modified. Load is safe
// for concurrent use.
//
// An unknown name gives an error wrapping ErrUnknown that lists the known
// names.
func Load(name string) (*dataset.Dataset, error) {
	get, ok := cache[name]
	if !ok {
		return nil, fmt.Errorf("sampledata: %w %q (bundled: %s)", ErrUnknown, name, strings.Join(names, ", "))
	}
	l := get()
	return l.ds, l.err
}

// decodeAny decodes m's data file according to its kind.
func decodeAny(m *meta) (*dataset.Dataset, error) {
	switch dataset.Kind(m.Kind) {
	case dataset.Text:
		return decodeText(m)
	case dataset.Interactions:
		return decodeInteractions(m)
	}
	return decode(m)
}

// decode reads m's data file: n×Width×Height pixel bytes, then n label
// bytes, then n split bytes, gzip-compressed.
func decode(m *meta) (*dataset.Dataset, error) {
	f, err := files.Open(path.Join(m.Name, m.Data))
	if err != nil {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	n, dim := m.Items, m.Width*m.Height
	raw := make([]byte, n*dim+2*n)
	if _, err := io.ReadFull(zr, raw); err != nil {
		return nil, fmt.Errorf("sampledata: %s: reading %d bytes: %w", m.Name, len(raw), err)
	}
	// Reading on to the end makes gzip check its CRC.
	if k, err := zr.Read(make([]byte, 1)); k != 0 {
		return nil, fmt.Errorf("sampledata: %s: data longer than %d bytes", m.Name, len(raw))
	} else if err != io.EOF {
		return nil, fmt.Errorf("sampledata: %s: %w", m.Name, err)
	}
	pix, labs, sps := raw[:n*dim], raw[n*dim:n*dim+n], raw[n*dim+n:]

	var scale [256]float32
	for v := range scale {
		scale[v] = min(float32(v)/float32(m.MaxValue), 1)
	}
	ds := &dataset.Dataset{
		Name: m.Name, Title: m.Title, Description: m.Description, Source: m.Source, License: m.License,
		Kind:       dataset.Kind(m.Kind),
		Dim:        dim,
		X:          make([]float32, n*dim),
		Labels:     make([]int32, n),
		ClassNames: slices.Clone(m.ClassNames),
		Splits:     make([]dataset.Split, n),
		Width:      m.Width,
		Height:     m.Height,
	}
	for i, v := range pix {
		if int(v) > m.MaxValue {
			return nil, fmt.Errorf("sampledata: %s: pixel %d is %d, above %d", m.Name, i, v, m.MaxValue)
		}
		ds.X[i] = scale[v]
	}
	for i, l := range labs {
		ds.Labels[i] = int32(l)
	}
	test := 0
	for i, s := range sps {
		switch dataset.Split(s) {
		case dataset.Train:
		case dataset.Test:
			test++
		default:
			return nil, fmt.Errorf("sampledata: %s: item %d has split byte %d", m.Name, i, s)
		}
		ds.Splits[i] = dataset.Split(s)
	}
	if test != m.Test {
		return nil, fmt.Errorf("sampledata: %s: %d test items, meta.json says %d", m.Name, test, m.Test)
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("sampledata: %w", err)
	}
	return ds, nil
}
