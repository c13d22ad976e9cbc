package web

import (
	"context"
	"errors"
	"math"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/runner"
)

// watchRun streams a run to one viewer (docs/protocol.md, "Websocket"):
// hello, the history, live, then whatever happens, then done and a normal
// close. The viewer only listens. This goroutine is the connection's one
// writer; the hub never waits for it.
func (s *Server) watchRun(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	from, err := intParam(c, "from", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	view, err := viewParam(c)
	if err != nil {
		return err
	}
	if view.From != "" {
		if err := s.checkStartFrom(c, r, view.From); err != nil {
			return err
		}
	}
	conn, done, err := s.acceptViewer(c, r.ID())
	if conn == nil {
		return err
	}
	defer done()

	sub, leave, err := s.subscribe(s.ctx, r, session(c), from, view)
	if err != nil {
		if run.ErrorCode(err) == run.Unavailable {
			// No memory left for another projection of one's own: the
			// page says so and offers the run's own.
			conn.Close(websocket.StatusTryAgainLater, clipReason(err.Error()))
			return nil
		}
		s.log.Error("subscribing to run", "run", r.ID(), "err", err)
		conn.Close(websocket.StatusInternalError, "internal error")
		return nil
	}
	defer leave()
	defer hubOf(r).remove(sub)
	s.serveSocket(c.Request().Context(), conn, sub)
	return nil
}

// viewParam reads the projection a viewer chose for itself, ?method=tsne&dims=3
// (both or neither): the zero View, the run's own projection, when absent.
// &init=RUN starts it from run RUN's layout in that projection (a
// comparison's second run).
func viewParam(c *echo.Context) (runner.View, error) {
	method, dims, init := c.QueryParam("method"), c.QueryParam("dims"), c.QueryParam("init")
	if method == "" && dims == "" {
		if init != "" {
			return runner.View{}, run.Errorf(run.Invalid, "init", "starting from another run's layout needs the projection: method and dims")
		}
		return runner.View{}, nil
	}
	if method == "" || dims == "" {
		return runner.View{}, run.Errorf(run.Invalid, "dims", "name both the projection method and its dimensions, or neither for the run's own projection")
	}
	d, err := intParam(c, "dims", 0, 2, 3)
	if err != nil {
		return runner.View{}, err
	}
	v := runner.View{Method: method, Dims: d, From: init}
	return v, v.Check()
}

// checkStartFrom checks that run r's view may start from run id's layout:
// a run on the same dataset that the viewer may watch, not r itself.
func (s *Server) checkStartFrom(c *echo.Context, r *runner.Run, id string) error {
	if id == r.ID() {
		return badInput("init", "a run cannot start from its own layout")
	}
	other, err := s.runs.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if other.Summary().Config.Dataset != r.Summary().Config.Dataset {
		return badInput("init", "run %s is on another dataset", id)
	}
	return nil
}

// clipReason cuts a close reason to what a websocket close frame holds
// (123 bytes), on a character boundary.
func clipReason(s string) string {
	if len(s) <= 123 {
		return s
	}
	s = s[:120]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// acceptViewer admits one more websocket of the client's address (429
// past --max-viewers-per-address) and upgrades the request; done closes
// the socket and gives the place back. A nil conn with a nil error means
// the handshake failed and has been answered.
func (s *Server) acceptViewer(c *echo.Context, runID string) (conn *websocket.Conn, done func(), err error) {
	addr := c.RealIP()
	if !s.enterViewer(addr) {
		return nil, nil, run.Errorf(run.TooMany, "", "too many open views of runs from your address (at most %d)", s.maxViewers)
	}
	if !s.group.Enter() {
		s.leaveViewer(addr)
		return nil, nil, errShuttingDown
	}
	conn, err = websocket.Accept(c.Response(), c.Request(), nil)
	if err != nil {
		s.group.Leave()
		s.leaveViewer(addr)
		s.log.Debug("websocket handshake failed", "run", runID, "err", err)
		return nil, nil, nil
	}
	return conn, func() {
		conn.CloseNow()
		s.group.Leave()
		s.leaveViewer(addr)
	}, nil
}

// serveSocket writes sub's messages to conn until the stream is done, the
// viewer leaves or the server stops. Reading handles pings and the
// client's close; the context it gives ends when the client goes away. On
// shutdown the loop closes with 1001; a write already under way gets a
// short grace, then is abandoned, so a stalled client cannot hold the
// shutdown for the whole write timeout.
func (s *Server) serveSocket(reqCtx context.Context, conn *websocket.Conn, sub *subscriber) {
	ctx, cancel := context.WithCancel(conn.CloseRead(reqCtx))
	defer cancel()
	stopGrace := context.AfterFunc(s.ctx, func() {
		t := time.NewTimer(shutdownWriteGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	})
	defer stopGrace()

	status, reason := s.writeLoop(ctx, conn, sub)
	if status != 0 {
		conn.Close(status, reason)
	}
}

// shutdownWriteGrace is how long a websocket write under way when the
// server shuts down may still take.
const shutdownWriteGrace = time.Second

// writeLoop writes sub's messages to conn until the stream is done, the
// viewer leaves or is too slow, or the server stops. It returns the close
// status to send, or 0 when the connection is already gone.
func (s *Server) writeLoop(ctx context.Context, conn *websocket.Conn, sub *subscriber) (websocket.StatusCode, string) {
	for {
		select {
		case <-ctx.Done():
			return 0, ""
		case <-s.ctx.Done():
			return websocket.StatusGoingAway, "server shutting down"
		case <-sub.ready:
		}
		batch, overflow := sub.take()
		for _, m := range batch {
			if err := s.write(ctx, conn, m); err != nil {
				if !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) == -1 {
					s.log.Debug("websocket write failed", "err", err)
				}
				return 0, ""
			}
			if m.final {
				return websocket.StatusNormalClosure, ""
			}
		}
		if overflow {
			return websocket.StatusPolicyViolation, "too slow to keep up"
		}
	}
}

// write sends one message: its text, then its binary frame if it has one,
// each within the write timeout.
func (s *Server) write(ctx context.Context, conn *websocket.Conn, m *message) error {
	if m.frame != nil {
		f := m.frame
		m.frame = nil // written once; its coordinates go as soon as they are sent
		m = frameMessage(f)
	}
	if err := s.writeFrame(ctx, conn, websocket.MessageText, m.text); err != nil {
		return err
	}
	if m.binary == nil {
		return nil
	}
	if err := s.writeFrame(ctx, conn, websocket.MessageBinary, m.binary); err != nil {
		return err
	}
	s.stats.framesSent.Add(1)
	if !m.published.IsZero() {
		s.stats.observeDelivery(time.Since(m.published))
	}
	return nil
}

func (s *Server) writeFrame(ctx context.Context, conn *websocket.Conn, typ websocket.MessageType, p []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	return conn.Write(ctx, typ, p)
}

// enterViewer counts one more websocket from addr, or reports false when
// the address has as many as it may.
func (s *Server) enterViewer(addr string) bool {
	s.viewersMu.Lock()
	defer s.viewersMu.Unlock()
	if s.viewers[addr] >= s.maxViewers {
		return false
	}
	s.viewers[addr]++
	return true
}

// leaveViewer ends what enterViewer counted.
func (s *Server) leaveViewer(addr string) {
	s.viewersMu.Lock()
	defer s.viewersMu.Unlock()
	if s.viewers[addr]--; s.viewers[addr] <= 0 {
		delete(s.viewers, addr)
	}
}
