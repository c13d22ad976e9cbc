package web

import (
	"sync"
	"time"

	"github.com/contrastive-explorer/explorer/run"
)

// A message is one logical websocket message, encoded once and shared by
// every subscriber: a JSON text message, optionally followed by a binary
// coordinate frame (epochs). It must not be modified once published.
type message struct {
	text   []byte
	binary []byte // nil when the message is text only
	// live marks a live epoch frame, the only kind a slow subscriber may
	// lose: a newer live frame replaces it while it is still pending.
	live bool
	// final marks done: the connection closes normally once it is written.
	final bool
	// replaces, when not empty, names a kind of message of which only the
	// newest matters (a viewer count, a presenter's view): like a live
	// frame, it replaces one of its kind still pending.
	replaces string
	// frame, when not nil, is a late joiner's history frame, encoded only
	// as it is written (and then let go): a history is held once, decoded,
	// not also as its encoded messages. Such a message is one subscriber's.
	frame *run.FrameRecord
	// published is when a live frame was published, for the delivery
	// histogram of /metrics; zero for every other message.
	published time.Time
	// scope, when not "", limits the message to the subscribers of one
	// view (subscriber.view): frames, done and projection changes are of
	// one projection; state and errors are for everyone.
	scope string
}

// maxPending bounds the messages that may wait for one subscriber. Only
// history, backfill and state messages accumulate (live frames conflate), so
// reaching it means the client has stopped reading for a long time: it is
// dropped with a policy-violation close.
const maxPending = 8192

// hub fans a run's messages out to its websocket subscribers. Publishing
// never blocks: each subscriber has its own pending queue, drained by that
// connection's writer goroutine. The hub's lock only guards the subscriber
// set; the run serialises publishing with subscribing (see run.subscribe) so
// that a late joiner's history and the live messages neither overlap nor
// leave a gap.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

func newHub() *hub { return &hub{subs: make(map[*subscriber]struct{})} }

// add registers s to receive every message published from now on.
func (h *hub) add(s *subscriber) {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

// remove unregisters s.
func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// len returns the number of subscribers.
func (h *hub) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// publish queues m for every subscriber without blocking.
func (h *hub) publish(m *message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publishLocked(m)
}

// publishLocked is publish with h.mu held.
func (h *hub) publishLocked(m *message) {
	for s := range h.subs {
		if m.scope == "" || m.scope == s.view {
			s.push(m)
		}
	}
}

// subscriber is one viewer's queue of pending messages. push never blocks;
// the connection's writer waits on ready and takes everything pending at
// once.
type subscriber struct {
	ready chan struct{} // capacity 1: "the queue is not empty"
	view  string        // the projection watched, as message.scope names it (viewScope)

	mu       sync.Mutex
	queue    []*message
	spare    []*message // the previous batch's array, reused by take
	overflow bool       // more than maxPending were waiting
	skipped  int        // live frames replaced before they were written
}

func newSubscriber(initial []*message) *subscriber {
	s := &subscriber{ready: make(chan struct{}, 1)}
	for _, m := range initial {
		s.push(m)
	}
	return s
}

// push queues m. A live frame replaces a live frame that is still pending:
// the slow viewer skips to the newest epoch (the epoch numbers show the
// gap). Nothing else is ever dropped.
func (s *subscriber) push(m *message) {
	s.mu.Lock()
	if m.live || m.replaces != "" {
		for i := len(s.queue) - 1; i >= 0; i-- {
			if q := s.queue[i]; (m.live && q.live) || (m.replaces != "" && q.replaces == m.replaces) {
				// Remove rather than overwrite in place: m happened after
				// whatever was queued since, and must stay behind it.
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				if m.live {
					s.skipped++
				}
				break
			}
		}
	}
	if len(s.queue) >= maxPending {
		s.overflow = true
	} else {
		s.queue = append(s.queue, m)
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// take returns every pending message, oldest first, and whether the queue
// overflowed. The returned slice is valid until the next call.
func (s *subscriber) take() ([]*message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	clear(s.spare)
	s.queue = s.spare[:0]
	s.spare = batch
	return batch, s.overflow
}
