package web

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// What the pages keep on one replica and reach through another, over the
// bus (docs/scaling.md): a presenter's view posted on one replica reaches
// the followers on every other, as the run's frames do; a one-time
// handover link made on one is opened through any; an export's progress
// is polled through any; a run's pages are counted over every replica.

// followReplicas subscribes this replica to what the others share; it
// runs only with a bus (s.runBus).
func (s *Server) followReplicas() error {
	if err := s.subscribeBus(presentSubject, s.presentedElsewhere); err != nil {
		return err
	}
	if err := s.subscribeBus(exportProgressSubject, s.progressElsewhere); err != nil {
		return err
	}
	return s.countPages()
}

// subscribeBus calls fn with each message on subject until the server
// stops.
func (s *Server) subscribeBus(subject string, fn func([]byte)) error {
	cancel, err := s.runBus.Subscribe(subject, fn)
	if err != nil {
		return err
	}
	context.AfterFunc(s.ctx, cancel)
	return nil
}

// publishBus sends v, as JSON, to the other replicas on subject (nothing
// without a bus), logging a failure as what it was doing.
func (s *Server) publishBus(subject string, v any, doing string) {
	if s.runBus == nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = s.runBus.Publish(subject, b)
	}
	if err != nil {
		s.log.Warn(doing, "err", err)
	}
}

// presentSubject carries presenters' views between replicas.
const presentSubject = "explorer.present"

// presented is a view as the bus carries it.
type presented struct {
	From string   `json:"from"` // the replica it was posted on
	Run  string   `json:"run"`
	View viewJSON `json:"view"`
}

// sharePresent sends a view posted on this replica to the others.
func (s *Server) sharePresent(id string, v viewJSON) {
	s.publishBus(presentSubject, presented{From: s.replica, Run: id, View: v}, "sharing a presented view")
}

// presentedElsewhere gives this replica's followers a view posted on
// another.
func (s *Server) presentedElsewhere(b []byte) {
	var p presented
	if json.Unmarshal(b, &p) != nil || p.From == s.replica || p.Run == "" {
		return
	}
	// Checked on the replica it was posted on, by its run's owner.
	s.follows.get(p.Run).present(p.View)
	s.follows.release(p.Run)
}

// Handover links among replicas: the replica that made a link answers
// requests on its own subject, explorer.handoff.CODE (codes are base64url,
// valid subject tokens), until the link is used or expires.

func handoffSubject(code string) string { return "explorer.handoff." + code }

// handoffAsk is a request for a link held by another replica.
type handoffAsk struct {
	Op  string `json:"op"` // "peek" or "claim"
	Run string `json:"run"`
}

type handoffAnswer struct {
	OK    bool   `json:"ok"`
	Token string `json:"token,omitempty"`
}

// serveHandoff answers for the link code, held here, until it returns.
func (s *Server) serveHandoff(code string) func() {
	if s.runBus == nil {
		return func() {}
	}
	cancel, err := s.runBus.Handle(handoffSubject(code), func(req []byte) []byte {
		var a handoffAsk
		var ans handoffAnswer
		if json.Unmarshal(req, &a) == nil {
			now := time.Now()
			switch a.Op {
			case "peek":
				ans.OK = s.handoffs.peek(a.Run, code, now)
			case "claim":
				ans.Token, ans.OK = s.handoffs.claim(a.Run, code, now)
			}
		}
		b, _ := json.Marshal(ans)
		return b
	})
	if err != nil {
		s.log.Warn("serving a handover link on the bus", "err", err)
		return func() {}
	}
	return cancel
}

// askHandoff asks the replica holding link code, if another holds it.
func (s *Server) askHandoff(ctx context.Context, op, runID, code string) (handoffAnswer, bool) {
	if s.runBus == nil || !validCode(code) {
		return handoffAnswer{}, false
	}
	req, _ := json.Marshal(handoffAsk{Op: op, Run: runID})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := s.runBus.Request(ctx, handoffSubject(code), req)
	if err != nil {
		return handoffAnswer{}, false
	}
	var ans handoffAnswer
	if json.Unmarshal(b, &ans) != nil {
		return handoffAnswer{}, false
	}
	return ans, ans.OK
}

// validCode reports whether code could be a link's: base64url, as add
// makes them, so it is one token of a subject.
func validCode(code string) bool {
	if len(code) == 0 || len(code) > 64 {
		return false
	}
	for _, c := range code {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Export progress among replicas: each update goes to every replica.

const exportProgressSubject = "explorer.export.progress"

type progressNote struct {
	From  string `json:"from"`
	Key   string `json:"key"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// setProgress records an export's progress here and on the others.
func (s *Server) setProgress(key string, done, total int) {
	s.exportProgress.set(key, done, total)
	s.publishBus(exportProgressSubject, progressNote{From: s.replica, Key: key, Done: done, Total: total}, "sharing an export's progress")
}

// progressElsewhere records the progress of an export made on another
// replica.
func (s *Server) progressElsewhere(b []byte) {
	var p progressNote
	if json.Unmarshal(b, &p) != nil || p.From == s.replica || p.Key == "" || len(p.Key) > 64 {
		return
	}
	s.exportProgress.set(p.Key, p.Done, p.Total)
}

// Pages counted among replicas: each replica tells the others how many
// pages follow a run there when the count changes, and every
// pagesRefresh while it is not 0; a count not refreshed for pagesStale
// is dropped (its replica died).

const (
	pagesSubject = "explorer.pages"
	pagesRefresh = 10 * time.Second
	pagesStale   = 3 * pagesRefresh
)

type pagesNote struct {
	From  string `json:"from"`
	Run   string `json:"run"`
	Pages int    `json:"pages"`
}

// pageCounts are the other replicas' counts: run, then replica.
type pageCounts struct {
	mu    sync.Mutex
	byRun map[string]map[string]pagesAt
}

type pagesAt struct {
	pages int
	at    time.Time
}

func (c *pageCounts) set(run, replica string, pages int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byRun == nil {
		c.byRun = map[string]map[string]pagesAt{}
	}
	m := c.byRun[run]
	if pages == 0 {
		delete(m, replica)
		if len(m) == 0 {
			delete(c.byRun, run)
		}
		return
	}
	if m == nil {
		m = map[string]pagesAt{}
		c.byRun[run] = m
	}
	m[replica] = pagesAt{pages, now}
}

// sum returns run's pages on the other replicas, dropping stale counts.
func (c *pageCounts) sum(run string, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for replica, p := range c.byRun[run] {
		if now.Sub(p.at) > pagesStale {
			delete(c.byRun[run], replica)
			continue
		}
		n += p.pages
	}
	return n
}

// countPages makes the follow streams count every replica's pages.
func (s *Server) countPages() error {
	counts := &pageCounts{}
	share := func(id string, pages int) {
		s.publishBus(pagesSubject, pagesNote{From: s.replica, Run: id, Pages: pages}, "sharing a run's page count")
	}
	s.follows.mu.Lock()
	s.follows.share = share
	s.follows.others = func(id string) int { return counts.sum(id, time.Now()) }
	s.follows.mu.Unlock()
	err := s.subscribeBus(pagesSubject, func(b []byte) {
		var p pagesNote
		if json.Unmarshal(b, &p) != nil || p.From == s.replica || p.Run == "" {
			return
		}
		counts.set(p.Run, p.From, p.Pages, time.Now())
		s.follows.mu.Lock()
		h := s.follows.hubs[p.Run]
		s.follows.mu.Unlock()
		if h != nil {
			h.mu.Lock()
			h.countLocked()
			h.mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(pagesRefresh)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				s.follows.mu.Lock()
				type count struct {
					id    string
					pages int
				}
				var cs []count
				for id, h := range s.follows.hubs {
					h.mu.Lock()
					if n := len(h.subs); n > 0 {
						cs = append(cs, count{id, n})
					}
					h.mu.Unlock()
				}
				s.follows.mu.Unlock()
				for _, c := range cs {
					share(c.id, c.pages)
				}
			}
		}
	}()
	return nil
}
