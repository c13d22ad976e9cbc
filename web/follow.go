package web

import (
	"math"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"
)

// This file is presenting (docs/protocol.md, "Presenting"): a run's owner
// shares what their page shows (epoch, camera, selection, hidden classes,
// search) with POST /api/runs/{id}/view, and every page that follows gets
// it on /ws/runs/{id}/follow. The follow stream is apart from the run's
// frames: it stays open after the run is done, because a class most often
// follows a run prepared the evening before. It also carries the count of
// the pages that have the run open.

// viewJSON is what a presenter shows, as posted and as followers get it.
type viewJSON struct {
	Type    string `json:"type"` // "view", on the follow stream
	Present bool   `json:"present"`
	// Epoch is the epoch shown, nil when following live.
	Epoch    *int        `json:"epoch"`
	Camera   *cameraJSON `json:"camera,omitempty"`
	Selected []int       `json:"selected"`
	Hidden   []int       `json:"hidden"` // classes hidden in the legend
	Search   string      `json:"search"`
	// Seq numbers a presenter's views, so a page can drop an older one;
	// SentMS is when the server published it (Unix milliseconds).
	Seq    int64 `json:"seq"`
	SentMS int64 `json:"sent_ms"`
}

// cameraJSON is the map's camera: zoom, pan (in units where the layout
// spans [-1, 1]) and, in 3D, the turn.
type cameraJSON struct {
	Zoom  float64 `json:"zoom"`
	PanX  float64 `json:"pan_x"`
	PanY  float64 `json:"pan_y"`
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
}

// Bounds of a posted view, and how many a client address may post per
// second.
const (
	presentRate   = 40
	maxSelected   = 16
	maxPanOffset  = 1000
	minZoom       = 0.3
	maxZoom       = 60
	maxPitch      = 1.6
	maxSearchText = maxQueryRunes
)

// check validates a posted view against the run (n items, classes labels,
// epochs configured), naming the field at fault.
func (v *viewJSON) check(n, classes, epochs int) error {
	if v.Epoch != nil && (*v.Epoch < 0 || *v.Epoch > epochs) {
		return badInput("epoch", "must be null (live) or an epoch from 0 to %d, got %d", epochs, *v.Epoch)
	}
	if c := v.Camera; c != nil {
		for _, x := range []float64{c.Zoom, c.PanX, c.PanY, c.Yaw, c.Pitch} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return badInput("camera", "every number must be finite")
			}
		}
		switch {
		case c.Zoom < minZoom || c.Zoom > maxZoom:
			return badInput("camera", "zoom must be between %v and %v, got %v", minZoom, maxZoom, c.Zoom)
		case math.Abs(c.PanX) > maxPanOffset || math.Abs(c.PanY) > maxPanOffset:
			return badInput("camera", "pan must be within ±%d", maxPanOffset)
		case math.Abs(c.Pitch) > maxPitch:
			return badInput("camera", "pitch must be within ±%v", maxPitch)
		}
		c.Yaw = math.Remainder(c.Yaw, 2*math.Pi)
	}
	if len(v.Selected) > maxSelected {
		return badInput("selected", "at most %d items, got %d", maxSelected, len(v.Selected))
	}
	for _, i := range v.Selected {
		if i < 0 || i >= n {
			return badInput("selected", "items are 0 to %d, got %d", n-1, i)
		}
	}
	if len(v.Hidden) > classes {
		return badInput("hidden", "at most the %d classes, got %d", classes, len(v.Hidden))
	}
	for _, k := range v.Hidden {
		if k < 0 || k >= classes {
			return badInput("hidden", "classes are 0 to %d, got %d", classes-1, k)
		}
	}
	if !utf8.ValidString(v.Search) || utf8.RuneCountInString(v.Search) > maxSearchText {
		return badInput("search", "at most %d characters of valid UTF-8", maxSearchText)
	}
	return nil
}

// follows holds the follow hub of every run that has followers or a
// presenter.
type follows struct {
	mu   sync.Mutex
	hubs map[string]*followHub
	// Among replicas (replicas.go): others counts a run's pages on the
	// other replicas, share tells them this one's count. nil for the
	// only replica.
	others func(id string) int
	share  func(id string, pages int)
}

// followHub fans one run's presenter views out to its followers. last is
// the view being presented (nil when nobody presents): a page that starts
// following gets it first.
type followHub struct {
	hub
	id      string
	f       *follows
	last    *message
	seq     int64
	counted bool // a count of the followers is due
	shared  int  // the count last told the other replicas, -1 for none
}

// countEvery is how often, at most, a run's pages hear how many they are:
// a classroom joining at once sends one count, not forty.
const countEvery = 250 * time.Millisecond

// viewersJSON tells a run's pages how many they are.
type viewersJSON struct {
	Type    string `json:"type"`
	Viewers int    `json:"viewers"`
}

// get returns run id's hub, made if missing.
func (f *follows) get(id string) *followHub {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hubs == nil {
		f.hubs = make(map[string]*followHub)
	}
	h, ok := f.hubs[id]
	if !ok {
		h = &followHub{hub: *newHub(), id: id, f: f, shared: -1}
		f.hubs[id] = h
	}
	return h
}

// release forgets run id's hub once nobody follows and nobody presents.
func (f *follows) release(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.hubs[id]; ok {
		h.mu.Lock()
		idle := len(h.subs) == 0 && h.last == nil
		h.mu.Unlock()
		if idle {
			delete(f.hubs, id)
		}
	}
}

// present publishes v to the run's followers and keeps it for those who
// come later; a view with Present false ends presenting.
func (h *followHub) present(v viewJSON) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	v.Type, v.Seq, v.SentMS = "view", h.seq, time.Now().UnixMilli()
	if v.Selected == nil {
		v.Selected = []int{}
	}
	if v.Hidden == nil {
		v.Hidden = []int{}
	}
	m := &message{text: mustJSON(v), replaces: "view"}
	h.last = nil
	if v.Present {
		h.last = m
	}
	h.publishLocked(m)
}

// follower returns a new follower's queue, holding the view being
// presented if there is one, registered for what follows.
func (h *followHub) follower() *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	var initial []*message
	if h.last != nil {
		initial = append(initial, h.last)
	}
	s := newSubscriber(initial)
	h.subs[s] = struct{}{}
	h.countLocked()
	return s
}

// leave unregisters a follower.
func (h *followHub) leave(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	h.countLocked()
}

// countLocked schedules a count of the followers unless one is due.
func (h *followHub) countLocked() {
	if h.counted {
		return
	}
	h.counted = true
	time.AfterFunc(countEvery, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.counted = false
		pages := len(h.subs)
		if h.f.share != nil {
			// Only a change is told: another replica's count, arriving,
			// recounts here, and must not be answered back forever.
			if pages != h.shared {
				h.f.share(h.id, pages)
				h.shared = pages
			}
			pages += h.f.others(h.id)
		}
		h.publishLocked(&message{text: mustJSON(viewersJSON{Type: "viewers", Viewers: pages}), replaces: "viewers"})
	})
}

// postView is POST /api/runs/{id}/view: the owner's page shares its view.
func (s *Server) postView(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	var v viewJSON
	if err := decodeJSON(c, &v); err != nil {
		return err
	}
	d := r.Dataset().Data // its labels index ClassNames (dataset.Validate)
	if err := v.check(d.Len(), len(d.ClassNames), r.Summary().Config.Epochs); err != nil {
		return err
	}
	s.follows.get(r.ID()).present(v)
	defer s.follows.release(r.ID())
	s.sharePresent(r.ID(), v)
	return c.NoContent(http.StatusNoContent)
}

// followRun is GET /ws/runs/{id}/follow: the views the run's presenter
// shares, as they come, until the page leaves or the server stops.
func (s *Server) followRun(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	conn, done, err := s.acceptViewer(c, r.ID())
	if conn == nil {
		return err
	}
	defer done()
	h := s.follows.get(r.ID())
	sub := h.follower()
	defer s.follows.release(r.ID())
	defer h.leave(sub)
	s.serveSocket(c.Request().Context(), conn, sub)
	return nil
}
