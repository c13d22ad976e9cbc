package web

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file adapts run/runner's runs to the API: their JSON summary,
// their viewers (a hub per run, fed by the runner's events) and the
// history a new viewer is sent.

// ProjectionJSON is a run's projection in the run summary.
type ProjectionJSON struct {
	Method string `json:"method"`
	Dims   int    `json:"dims"`
}

// RunSummary is the JSON the API answers about a run.
type RunSummary struct {
	ID            string         `json:"id"`
	URL           string         `json:"url"` // the run page
	Name          string         `json:"name"`
	State         run.State      `json:"state"`
	QueuePosition int            `json:"queue_position"` // 1 = next to start; 0 when not queued
	Epoch         int            `json:"epoch"`          // newest epoch trained, 0 before the first
	Epochs        int            `json:"epochs"`         // epochs configured
	Config        trainer.Config `json:"config"`         // with the defaults filled in
	Projection    ProjectionJSON `json:"projection"`
	Viewers       int            `json:"viewers"` // open websockets
	Error         string         `json:"error,omitempty"`
	Resumable     bool           `json:"resumable"` // interrupted, and its owner may resume it
	Owner         bool           `json:"owner"`     // the asking session created the run
}

// uploadedDataset stands for an upload's id in what another session sees
// of a run: the id is of no use to it, and says nothing it should know.
const uploadedDataset = "upload"

// summaryJSON returns the API's summary of a run as session sees it.
func summaryJSON(s runner.Summary, session string) RunSummary {
	cfg := s.Config.Config
	owner := session != "" && session == s.Session
	if !owner && datasets.IsUpload(cfg.Dataset) {
		cfg.Dataset = uploadedDataset
	}
	return RunSummary{
		ID: s.ID, URL: "/runs/" + s.ID, Name: s.Name, State: s.State, QueuePosition: s.QueuePosition,
		Epoch: s.Epoch, Epochs: cfg.Epochs, Config: cfg,
		Projection: ProjectionJSON{Method: s.Config.Projection, Dims: s.Config.Dims},
		Viewers:    s.Viewers, Error: s.Error, Resumable: s.Resumable, Owner: owner,
	}
}

// runHub is a run's Viewers: it encodes each event once into a message
// and hands it to the run's hub.
type runHub struct{ *hub }

// Publish encodes e and queues it for every viewer.
func (h runHub) Publish(e runner.Event) {
	s := e.Summary
	var m *message
	switch e.Kind {
	case runner.EventState:
		m = &message{text: mustJSON(stateJSON{Type: "state", State: s.State, QueuePosition: s.QueuePosition, Epoch: s.Epoch})}
	case runner.EventFrame:
		m = frameMessage(e.Frame)
		m.live = e.Live
		if e.Live {
			m.published = time.Now()
		}
		m.scope = viewScope(e.View)
	case runner.EventProjection:
		// Viewers of a projection of their own keep it.
		m = &message{text: mustJSON(projectionJSON{Type: "projection", Method: s.Config.Projection, Dims: s.Config.Dims})}
		m.scope = viewScope(runner.View{})
	case runner.EventError:
		m = &message{text: mustJSON(errorJSON{Type: "error", Error: s.Error})}
	case runner.EventDone:
		m = doneMessage(s)
		m.scope = viewScope(e.View)
	default:
		return
	}
	h.publish(m)
}

// viewScope is the message.scope of a view's messages: "main" for the
// run's own projection, else the view's name ("tsne/3").
func viewScope(v runner.View) string {
	if v.Own() {
		return "main"
	}
	return v.String()
}

// Len counts the run's viewers.
func (h runHub) Len() int { return h.len() }

// frameMessage encodes a frame: its epoch's text message and its binary
// coordinates.
func frameMessage(f *run.FrameRecord) *message {
	n := 0
	if f.Dims > 0 {
		n = len(f.Coords) / f.Dims
	}
	q := f.Quality
	info := frameInfo{
		Method: f.Method, Dims: f.Dims, KL: run.Number(q.KL), Trustworthiness: run.Number(q.Trustworthiness),
		KNNPreservation: run.Number(q.KNNPreservation), Seconds: run.Number(q.Seconds),
	}
	return &message{
		text:   encodeEpoch(f.Epoch, f.Backfill, f.Metrics, info, f.Sent),
		binary: encodeCoords(f.Epoch, f.Coords, n, f.Dims),
	}
}

// doneMessage is the last message of a stream.
func doneMessage(s runner.Summary) *message {
	return &message{text: mustJSON(doneJSON{Type: "done", State: s.State, Epochs: s.Epoch}), final: true}
}

// hubOf returns the hub of a run made by the server's manager.
func hubOf(r *runner.Run) *hub { return r.Viewers().(runHub).hub }

// subscribe returns a new viewer's queue of view v, already holding
// hello, the history of epochs from on and live (and done, if nothing more
// will come), and registers it for what follows; leave is to be called
// once the viewer has gone.
func (s *Server) subscribe(ctx context.Context, r *runner.Run, session string, from int, v runner.View) (sub *subscriber, leave func(), err error) {
	leave, err = r.Join(ctx, from, v, func(h runner.History) error {
		// Another session does not learn an upload's id.
		masked := h.Dataset.Uploaded && session != h.Summary.Session
		dsJSON, err := s.hellos.get(r, h.Dataset, masked)
		if err != nil {
			return err
		}
		msgs := make([]*message, 0, len(h.Frames)+3)
		view := ProjectionJSON{Method: v.Method, Dims: v.Dims}
		if v.Own() {
			view = ProjectionJSON{Method: h.Summary.Config.Projection, Dims: h.Summary.Config.Dims}
		}
		msgs = append(msgs, &message{text: mustJSON(helloJSON{Type: "hello", Run: summaryJSON(h.Summary, session), Dataset: dsJSON, View: view, OwnView: !v.Own()})})
		for _, f := range h.Frames {
			msgs = append(msgs, &message{frame: &f})
		}
		msgs = append(msgs, liveMessage)
		if h.Done {
			msgs = append(msgs, doneMessage(h.Summary))
		}
		sub = newSubscriber(msgs)
		sub.view = viewScope(v)
		if !h.Done {
			hubOf(r).add(sub)
		}
		return nil
	})
	return sub, leave, err
}

// helloCache encodes hello's dataset part once per bundled dataset and
// once per run on an upload and kind of viewer (its pixels URL names the
// run, since viewers who follow a link may not see the upload itself, and
// only the uploader's session sees its id).
type helloCache struct {
	mu    sync.Mutex
	byKey map[string]json.RawMessage
}

func newHelloCache() *helloCache {
	return &helloCache{byKey: make(map[string]json.RawMessage)}
}

// helloCacheMax bounds the entries kept; past it the cache starts again.
const helloCacheMax = 256

// get returns hello's dataset part of run r on d; masked replaces an
// upload's id with uploadedDataset.
func (c *helloCache) get(r *runner.Run, d run.Dataset, masked bool) (json.RawMessage, error) {
	key, pixels := d.ID, ""
	if d.Uploaded {
		key, pixels = "run:"+r.ID(), "/api/runs/"+r.ID()+"/pixels"
		if masked {
			key, d.ID = key+":masked", uploadedDataset
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.byKey[key]; ok {
		return b, nil
	}
	b, err := encodeDatasetHello(d, pixels)
	if err != nil {
		return nil, err
	}
	if len(c.byKey) >= helloCacheMax {
		clear(c.byKey)
	}
	c.byKey[key] = b
	return b, nil
}

// newViewers is the runner's Options.NewViewers: a hub per run.
func newViewers(string) runner.Viewers { return runHub{newHub()} }

// datasetHello is the dataset part of hello.
type datasetHello struct {
	ID          string   `json:"id"` // the registry key, as the run config names it
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Kind        string   `json:"kind"`
	Items       int      `json:"items"`
	Dim         int      `json:"dim"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	ClassNames  []string `json:"class_names"`
	Labels      []int32  `json:"labels"` // dataset.NoLabel (-1) when unlabelled
	Splits      []int    `json:"splits"` // 0 train, 1 test
	PixelsURL   string   `json:"pixels_url"`
	Texts       []string `json:"texts,omitempty"`     // each item's text, clipped (text datasets, uploads with names)
	Names       []string `json:"names,omitempty"`     // each item's name (interactions: the tracks)
	Headwords   []string `json:"headwords,omitempty"` // dictionaries: the words each item defines, comma-separated
	Uploaded    bool     `json:"uploaded"`
	Precomputed bool     `json:"precomputed"`
	Synthetic   bool     `json:"synthetic"`
}

// encodeDatasetHello encodes hello's dataset part. pixelsURL overrides the
// dataset's own pixels URL for image datasets when not "".
func encodeDatasetHello(e run.Dataset, pixelsURL string) (json.RawMessage, error) {
	d := e.Data
	h := datasetHello{
		ID: e.ID, Name: e.Name, Title: d.Title, Kind: string(d.Kind), Items: d.Len(), Dim: d.Dim,
		Width: d.Width, Height: d.Height, ClassNames: d.ClassNames, Labels: d.Labels,
		Splits:   make([]int, d.Len()),
		Names:    d.ItemNames,
		Uploaded: e.Uploaded, Precomputed: e.Precomputed, Synthetic: e.Synthetic,
	}
	if h.ClassNames == nil {
		h.ClassNames = []string{}
	}
	if d.Text != nil {
		h.Texts = make([]string, len(d.Text))
		for i, t := range d.Text {
			h.Texts[i] = run.ClipText(t)
		}
	}
	if d.Headwords != nil {
		h.Headwords = make([]string, len(d.Headwords))
		for i, ws := range d.Headwords {
			h.Headwords[i] = run.ClipText(strings.Join(ws, ", "))
		}
	}
	for i, s := range d.Splits {
		h.Splits[i] = int(s)
	}
	if d.Kind == dataset.Images {
		h.PixelsURL = "/api/datasets/" + e.ID + "/pixels"
		if pixelsURL != "" {
			h.PixelsURL = pixelsURL
		}
	}
	return json.Marshal(h)
}
