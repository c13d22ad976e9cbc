// Package datasets is the explorer's one dataset registry: the bundled
// datasets, visible to everyone, and uploads, each visible only to the
// session that uploaded it, kept on disk (one folder each) with their
// records in the store, and parsed again on first use after a restart. It
// knows no HTTP: web reads and parses an upload's request, then hands the
// parsed dataset and its spool files to Add.
package datasets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// Bundled is the run.Catalog of the datasets compiled into the binary.
type Bundled struct{}

func (Bundled) List() []dataset.Info                       { return sampledata.List() }
func (Bundled) Load(name string) (*dataset.Dataset, error) { return sampledata.Load(name) }

// IDPrefix starts the id of every uploaded dataset, so an upload can never
// shadow a bundled dataset.
const IDPrefix = "u-"

// IsUpload reports whether id names an upload (of whichever session).
func IsUpload(id string) bool { return strings.HasPrefix(id, IDPrefix) }

// Entry is one dataset of the registry: a bundled one or an upload. Data
// is always set for uploads, for bundled ones after Get.
type Entry struct {
	run.Dataset

	Session string // the uploading session; "" for bundled datasets
	Bytes   int64  // memory held once parsed, counted against the upload budget
	Created time.Time

	upload *kept // an upload's files and how to parse them again
}

// Options configures a Registry.
type Options struct {
	Catalog run.Catalog // the bundled datasets
	Store   run.Store   // where uploads' records are kept
	Dir     string      // the uploads folder: spool files, and the kept files unless Files is set
	Files   Files       // where uploads' files are kept; nil: DirFiles(Dir)
	// OrphanAge is how old files without a record must be before Restore
	// removes them (what an upload interrupted between its files and its
	// record left): 0, the default, removes all, right for a folder only
	// this process writes; files other replicas write need an age no
	// upload in progress reaches.
	OrphanAge time.Duration
	// ReadOnly makes Restore remove nothing: for a command that reads
	// the store while a server may be writing it.
	ReadOnly      bool
	Limits        dataset.Limits // the parser's limits when an upload is parsed again
	MaxPerSession int            // uploads one session may keep
	MaxBytes      int64          // memory all parsed uploads may hold
	Logger        *slog.Logger
}

// Registry is the dataset registry. Another session's upload is reported
// exactly as a dataset that does not exist.
type Registry struct {
	o Options

	mu      sync.Mutex
	uploads map[string]*Entry // by id
	total   int64             // bytes of all parsed uploads
	pending map[string]int    // uploads being parsed, by session
}

// New returns a registry; call Restore before use to bring back the
// uploads the store holds.
func New(o Options) *Registry {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Files == nil {
		o.Files = DirFiles(o.Dir)
	}
	return &Registry{o: o, uploads: make(map[string]*Entry), pending: make(map[string]int)}
}

// Catalog returns the bundled datasets' catalog.
func (g *Registry) Catalog() run.Catalog { return g.o.Catalog }

// bundledEntry describes a bundled dataset.
func bundledEntry(in dataset.Info) Entry {
	return Entry{Dataset: run.Dataset{
		ID: in.Name, Name: in.Name, Info: in,
		Synthetic: strings.Contains(strings.ToLower(in.Source), "synthetic"),
	}}
}

// List returns the bundled datasets, then session's uploads, oldest first.
// Bundled entries are not loaded (Data is nil).
func (g *Registry) List(session string) []Entry {
	infos := g.o.Catalog.List()
	out := make([]Entry, 0, len(infos))
	for _, in := range infos {
		out = append(out, bundledEntry(in))
	}
	g.mu.Lock()
	var mine []Entry
	for _, e := range g.uploads {
		if e.Session == session {
			mine = append(mine, *e)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(mine, func(a, b Entry) int { return a.Created.Compare(b.Created) })
	return append(out, mine...)
}

// FirstBundled is the name of the default dataset of a run, or "".
func (g *Registry) FirstBundled() string {
	if infos := g.o.Catalog.List(); len(infos) > 0 {
		return infos[0].Name
	}
	return ""
}

// Get returns a dataset, loaded, if session may see it. Otherwise it
// returns a run.NotFound error, the same for an upload of another session
// as for an id nobody uses.
func (g *Registry) Get(session, id string) (Entry, error) {
	if IsUpload(id) {
		g.mu.Lock()
		e, ok := g.uploads[id]
		g.mu.Unlock()
		if !ok || e.Session != session || session == "" {
			return Entry{}, run.Errorf(run.NotFound, "", "no dataset %q", id)
		}
		return g.loaded(e)
	}
	for _, in := range g.o.Catalog.List() {
		if in.Name != id {
			continue
		}
		ds, err := g.o.Catalog.Load(id)
		if err != nil {
			return Entry{}, fmt.Errorf("loading dataset %s: %w", id, err)
		}
		e := bundledEntry(in)
		e.Data = ds
		return e, nil
	}
	return Entry{}, run.Errorf(run.NotFound, "", "no dataset %q", id)
}

// errFull refuses an upload, before it is read, when the uploads already
// fill the server's budget.
var errFull = run.Errorf(run.Insufficient, "",
	"the server holds as much uploaded data as it may; try again later or upload a smaller file")

// Reserve admits one upload of session, to be followed by Add or Cancel:
// a session at its limit gets a run.Conflict error, a server whose budget
// is spent a run.Insufficient one.
func (g *Registry) Reserve(session string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.pending[session]
	for _, e := range g.uploads {
		if e.Session == session {
			n++
		}
	}
	if n >= g.o.MaxPerSession {
		return run.Errorf(run.Conflict, "", "you have %d uploaded datasets, the most one browser may keep; delete one before uploading another", g.o.MaxPerSession)
	}
	if g.total >= g.o.MaxBytes {
		return errFull
	}
	g.pending[session]++
	return nil
}

// Cancel ends a reservation that did not lead to an upload.
func (g *Registry) Cancel(session string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.release(session)
}

func (g *Registry) release(session string) {
	if g.pending[session]--; g.pending[session] <= 0 {
		delete(g.pending, session)
	}
}

// Upload is what it takes to parse an upload again: the parse options
// (without Metadata, Limits or Context) and the spool files the upload was
// read into, which Add moves into the upload's folder.
type Upload struct {
	Options  dataset.ParseOptions
	File     string // the data file
	Metadata string // projector metadata, "" for none
}

// Add registers a parsed upload of session under a fresh id, ending its
// reservation. The dataset is renamed to its id, so that everything keyed
// by dataset name tells uploads of the same file apart; the caller must
// not modify it afterwards. It refuses (run.Insufficient) an upload that
// does not fit the memory budget.
func (g *Registry) Add(session, fileName string, format dataset.Format, ds *dataset.Dataset, up Upload) (Entry, error) {
	size := Bytes(ds)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.release(session)
	if g.total+size > g.o.MaxBytes {
		return Entry{}, run.Errorf(run.Insufficient, "",
			"the dataset needs %s of memory and the server has %s left for uploads; try a smaller file or again later",
			run.Megabytes(size), run.Megabytes(max(g.o.MaxBytes-g.total, 0)))
	}
	id := IDPrefix + run.RandomHex(8)
	for g.uploads[id] != nil {
		id = IDPrefix + run.RandomHex(8)
	}
	ds.Name = id
	e := &Entry{
		Dataset: run.Dataset{
			ID: id, Name: fileName, Info: ds.Info(), Format: string(format), Uploaded: true,
			Precomputed: ds.Precomputed, Data: ds,
		},
		Session: session, Bytes: size, Created: time.Now().UTC().Truncate(time.Millisecond),
		upload: &kept{opts: up.Options},
	}
	if err := g.keep(e, up); err != nil {
		return Entry{}, err
	}
	g.uploads[id] = e
	g.total += size
	return *e, nil
}

// Remove forgets one of session's uploads, its record and its files. The
// caller deletes the runs on it first.
func (g *Registry) Remove(session, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.uploads[id]
	if !ok || e.Session != session || session == "" {
		if !IsUpload(id) && g.isBundled(id) {
			return run.Errorf(run.Conflict, "", "%s is a bundled dataset: only uploads can be deleted", id)
		}
		return run.Errorf(run.NotFound, "", "no dataset %q", id)
	}
	delete(g.uploads, id)
	if e.Data != nil {
		g.total -= e.Bytes
	}
	return g.removeFiles(id)
}

// Owns reports whether id is one of session's uploads.
func (g *Registry) Owns(session, id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.uploads[id]
	return ok && session != "" && e.Session == session
}

func (g *Registry) isBundled(name string) bool {
	return slices.ContainsFunc(g.o.Catalog.List(), func(in dataset.Info) bool { return in.Name == name })
}

// Bytes estimates the memory a dataset holds.
func Bytes(d *dataset.Dataset) int64 {
	n := int64(d.Len())
	b := 4*int64(len(d.X)) + 5*n // features, labels, splits
	if m := d.Sparse; m != nil {
		b += 8*int64(len(m.Indptr)) + 8*int64(m.NNZ())
	}
	strs := func(ss []string) {
		for _, s := range ss {
			b += 16 + int64(len(s))
		}
	}
	strs(d.Text)
	strs(d.ItemNames)
	strs(d.ClassNames)
	for _, h := range d.Headwords {
		strs(h)
	}
	for _, u := range d.Users {
		b += 24 + 4*int64(len(u))
	}
	return b + 4*int64(len(d.HeldOut))
}

// IsUnknown reports whether err says a dataset does not exist.
func IsUnknown(err error) bool {
	return errors.Is(err, run.ErrNotFound) || errors.Is(err, sampledata.ErrUnknown)
}

// Dataset returns a dataset whoever uploaded it: the runner rebuilds a
// stored run on it for anyone who has the run's link.
func (g *Registry) Dataset(_ context.Context, id string) (run.Dataset, error) {
	if IsUpload(id) {
		g.mu.Lock()
		e, ok := g.uploads[id]
		g.mu.Unlock()
		if !ok {
			return run.Dataset{}, run.Errorf(run.NotFound, "", "the dataset %q is no longer on this server", id)
		}
		l, err := g.loaded(e)
		return l.Dataset, err
	}
	e, err := g.Get("", id)
	return e.Dataset, err
}
