package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// bundled is the run.Catalog of the datasets compiled into the binary.
type bundled struct{}

func (bundled) List() []dataset.Info                       { return sampledata.List() }
func (bundled) Load(name string) (*dataset.Dataset, error) { return sampledata.Load(name) }

// uploadIDPrefix starts the id of every uploaded dataset, so an upload can
// never shadow a bundled dataset.
const uploadIDPrefix = "u-"

// datasetEntry is one dataset of the registry as every handler sees it: a
// bundled one or an upload. Data is always set for uploads, for bundled
// ones after get.
type datasetEntry struct {
	run.Dataset

	session string // the uploading session; "" for bundled datasets
	bytes   int64  // memory held once parsed, for the upload budget
	created time.Time
	upload  *storedUpload // an upload's files and how to parse them again
}

// registry is the server's one dataset registry: the bundled datasets,
// visible to everyone, and uploads, each visible only to the session that
// uploaded it. Another session's upload is reported exactly as a dataset
// that does not exist. It keeps at most maxPerSession uploads per session
// and maxBytes of uploaded data in all.
type registry struct {
	catalog       run.Catalog
	maxPerSession int
	maxBytes      int64
	files         *uploadFiles // uploads' files and records

	mu      sync.Mutex
	uploads map[string]*datasetEntry // by id
	total   int64                    // bytes of all uploads
	pending map[string]int           // uploads being parsed, by session
}

func newRegistry(c run.Catalog, maxPerSession int, maxBytes int64, files *uploadFiles) *registry {
	return &registry{
		catalog: c, maxPerSession: maxPerSession, maxBytes: maxBytes, files: files,
		uploads: make(map[string]*datasetEntry), pending: make(map[string]int),
	}
}

// bundledEntry describes a bundled dataset.
func bundledEntry(in dataset.Info) datasetEntry {
	return datasetEntry{Dataset: run.Dataset{
		ID: in.Name, Name: in.Name, Info: in,
		Synthetic: strings.Contains(strings.ToLower(in.Source), "synthetic"),
	}}
}

// list returns the bundled datasets, then session's uploads, oldest first.
// Bundled entries are not loaded (ds is nil).
func (g *registry) list(session string) []datasetEntry {
	infos := g.catalog.List()
	out := make([]datasetEntry, 0, len(infos))
	for _, in := range infos {
		out = append(out, bundledEntry(in))
	}
	g.mu.Lock()
	var mine []datasetEntry
	for _, e := range g.uploads {
		if e.session == session {
			mine = append(mine, *e)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(mine, func(a, b datasetEntry) int { return a.created.Compare(b.created) })
	return append(out, mine...)
}

// firstBundled is the name of the default dataset of a run, or "".
func (g *registry) firstBundled() string {
	if infos := g.catalog.List(); len(infos) > 0 {
		return infos[0].Name
	}
	return ""
}

// get returns a dataset, loaded, if session may see it. Otherwise it
// returns an error wrapping ErrNotFound, the same for an upload of another
// session as for an id nobody uses.
func (g *registry) get(session, id string) (datasetEntry, error) {
	if strings.HasPrefix(id, uploadIDPrefix) {
		g.mu.Lock()
		e, ok := g.uploads[id]
		g.mu.Unlock()
		if !ok || e.session != session || session == "" {
			return datasetEntry{}, notFound("no dataset %q", id)
		}
		return g.loaded(e)
	}
	for _, in := range g.catalog.List() {
		if in.Name != id {
			continue
		}
		ds, err := g.catalog.Load(id)
		if err != nil {
			return datasetEntry{}, fmt.Errorf("loading dataset %s: %w", id, err)
		}
		e := bundledEntry(in)
		e.Data = ds
		return e, nil
	}
	return datasetEntry{}, notFound("no dataset %q", id)
}

// errUploadMemory refuses an upload, before it is read, when the uploads
// already fill the server's budget.
var errUploadMemory = &statusError{code: http.StatusInsufficientStorage,
	msg: "the server holds as much uploaded data as it may; try again later or upload a smaller file"}

// reserve admits one upload of session, to be followed by add or cancel:
// a session at its limit gets a 409, a server whose budget is spent a 507.
func (g *registry) reserve(session string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.pending[session]
	for _, e := range g.uploads {
		if e.session == session {
			n++
		}
	}
	if n >= g.maxPerSession {
		return conflict("you have %d uploaded datasets, the most one browser may keep; delete one before uploading another", g.maxPerSession)
	}
	if g.total >= g.maxBytes {
		return errUploadMemory
	}
	g.pending[session]++
	return nil
}

// cancel ends a reservation that did not lead to an upload.
func (g *registry) cancel(session string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.release(session)
}

func (g *registry) release(session string) {
	if g.pending[session]--; g.pending[session] <= 0 {
		delete(g.pending, session)
	}
}

// add registers a parsed upload under a fresh id, ending session's
// reservation. The dataset is renamed to its id, so that everything keyed
// by dataset name tells uploads of the same file apart; the caller must
// not modify it afterwards. It refuses (507) an upload that does not fit
// the memory budget.
func (g *registry) add(session, fileName string, format dataset.Format, ds *dataset.Dataset, up *storedUpload) (datasetEntry, error) {
	size := datasetBytes(ds)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.release(session)
	if g.total+size > g.maxBytes {
		return datasetEntry{}, &statusError{code: http.StatusInsufficientStorage, msg: fmt.Sprintf(
			"the dataset needs %s of memory and the server has %s left for uploads; try a smaller file or again later",
			megabytes(size), megabytes(max(g.maxBytes-g.total, 0)))}
	}
	id := uploadIDPrefix + randomHex(8)
	for g.uploads[id] != nil {
		id = uploadIDPrefix + randomHex(8)
	}
	ds.Name = id
	e := &datasetEntry{
		Dataset: run.Dataset{
			ID: id, Name: fileName, Info: ds.Info(), Format: string(format), Uploaded: true,
			Precomputed: ds.Precomputed, Data: ds,
		},
		session: session, bytes: size, created: time.Now().UTC().Truncate(time.Millisecond), upload: up,
	}
	if err := g.files.keep(e); err != nil {
		return datasetEntry{}, err
	}
	g.uploads[id] = e
	g.total += size
	return *e, nil
}

// remove forgets one of session's uploads, its record and its files. The
// caller deletes the runs on it first.
func (g *registry) remove(session, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.uploads[id]
	if !ok || e.session != session || session == "" {
		if !strings.HasPrefix(id, uploadIDPrefix) && g.isBundled(id) {
			return conflict("%s is a bundled dataset: only uploads can be deleted", id)
		}
		return notFound("no dataset %q", id)
	}
	delete(g.uploads, id)
	if e.Data != nil {
		g.total -= e.bytes
	}
	return g.files.remove(id)
}

// owns reports whether id is one of session's uploads.
func (g *registry) owns(session, id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.uploads[id]
	return ok && session != "" && e.session == session
}

func (g *registry) isBundled(name string) bool {
	return slices.ContainsFunc(g.catalog.List(), func(in dataset.Info) bool { return in.Name == name })
}

// datasetBytes estimates the memory a dataset holds.
func datasetBytes(d *dataset.Dataset) int64 {
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

// megabytes formats a byte count for a learner.
func megabytes(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

// isUnknownDataset reports whether err says a dataset does not exist.
func isUnknownDataset(err error) bool {
	return errors.Is(err, run.ErrNotFound) || errors.Is(err, sampledata.ErrUnknown)
}

// Dataset returns a dataset whoever uploaded it: the runner rebuilds a
// stored run on it for anyone who has the run's link.
func (g *registry) Dataset(_ context.Context, id string) (run.Dataset, error) {
	if strings.HasPrefix(id, uploadIDPrefix) {
		g.mu.Lock()
		e, ok := g.uploads[id]
		g.mu.Unlock()
		if !ok {
			return run.Dataset{}, notFound("the dataset %q is no longer on this server", id)
		}
		l, err := g.loaded(e)
		return l.Dataset, err
	}
	e, err := g.get("", id)
	return e.Dataset, err
}
