package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/contrastive-explorer/explorer/run"
)

// This file moves a run's control to another device (docs/protocol.md,
// "Handing over control"): the owner asks for a one-time link, shown as
// text and as a QR code; the first browser to open it receives the control
// token, and the link is spent. A teacher who starts a run on a laptop can
// so take it over on the projector's machine or a phone. The store keeps
// only the token's hash, so the owner's request carries the token, which
// the link hands on.

// Handoff limits.
const (
	handoffTTL     = 10 * time.Minute
	handoffsPerRun = 4      // links a run may have open at once
	maxHandoffs    = 10_000 // links open on the server
)

// handoffs are the open one-time links, by code.
type handoffs struct {
	mu    sync.Mutex
	codes map[string]handoff
}

type handoff struct {
	stop       func() // stops answering for it on the bus
	run, token string
	expires    time.Time
}

// add opens a link to hand run's token on, dropping expired ones; it fails
// when the run or the server has too many open.
func (h *handoffs) add(runID, token string, now time.Time) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.codes == nil {
		h.codes = map[string]handoff{}
	}
	open := 0
	for code, o := range h.codes {
		switch {
		case now.After(o.expires):
			delete(h.codes, code)
			o.stopServing()
		case o.run == runID:
			open++
		}
	}
	if open >= handoffsPerRun || len(h.codes) >= maxHandoffs {
		return "", run.Errorf(run.TooMany, "", "too many handover links are open for this run: use one, or wait %d minutes for them to expire", int(handoffTTL.Minutes()))
	}
	var b [18]byte
	rand.Read(b[:])
	code := base64.RawURLEncoding.EncodeToString(b[:])
	h.codes[code] = handoff{run: runID, token: token, expires: now.Add(handoffTTL)}
	return code, nil
}

// serving records what stops answering for code on the bus.
func (h *handoffs) serving(code string, stop func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o, ok := h.codes[code]; ok {
		o.stop = stop
		h.codes[code] = o
		return
	}
	stop() // claimed meanwhile
}

func (o handoff) stopServing() {
	if o.stop != nil {
		go o.stop() // not under h.mu: the bus may be answering for it
	}
}

// peek reports whether code is an open link of runID.
func (h *handoffs) peek(runID, code string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.codes[code]
	return ok && o.run == runID && !now.After(o.expires)
}

// claim spends code and returns the token it hands on.
func (h *handoffs) claim(runID, code string, now time.Time) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.codes[code]
	if !ok || o.run != runID {
		return "", false
	}
	delete(h.codes, code)
	o.stopServing()
	if now.After(o.expires) {
		return "", false
	}
	return o.token, true
}

// handoffJSON answers POST /api/runs/{id}/handoff.
type handoffJSON struct {
	URL       string `json:"url"`        // the one-time link, absolute
	QR        string `json:"qr"`         // a PNG of the link as a QR code
	ExpiresIn int    `json:"expires_in"` // seconds
}

// handoffLink builds the absolute one-time link of code, on the host the
// owner reached.
func handoffLink(c *echo.Context, runID, code string) string {
	scheme := "http"
	if c.Request().TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host + "/runs/" + runID + "?handoff=" + code
}

func (s *Server) startHandoff(c *echo.Context) error {
	r, err := s.controlledRun(c)
	if err != nil {
		return err
	}
	code, err := s.handoffs.add(r.ID(), bearerToken(c.Request()), time.Now())
	if err != nil {
		return err
	}
	stop := s.serveHandoff(code)
	s.handoffs.serving(code, stop)
	time.AfterFunc(handoffTTL, stop) // expired: nothing to answer for
	return c.JSON(http.StatusCreated, handoffJSON{
		URL:       handoffLink(c, r.ID(), code),
		QR:        "/api/runs/" + r.ID() + "/handoff.png?code=" + code,
		ExpiresIn: int(handoffTTL.Seconds()),
	})
}

// handoffQR answers GET /api/runs/{id}/handoff.png?code=: the open link
// as a QR code, for a phone's camera.
func (s *Server) handoffQR(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	code := c.QueryParam("code")
	if !s.handoffs.peek(r.ID(), code, time.Now()) {
		if _, ok := s.askHandoff(c.Request().Context(), "peek", r.ID(), code); !ok {
			return run.Errorf(run.NotFound, "code", "this handover link is used or expired: ask for a new one")
		}
	}
	png, err := qrcode.Encode(handoffLink(c, r.ID(), code), qrcode.Medium, 320)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}

// claimHandoff answers POST /api/runs/{id}/claim {"code": …} with the
// control token, once.
func (s *Server) claimHandoff(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	var body struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	token, ok := s.handoffs.claim(r.ID(), body.Code, time.Now())
	if !ok {
		// Made through another replica?
		var ans handoffAnswer
		ans, ok = s.askHandoff(c.Request().Context(), "claim", r.ID(), body.Code)
		token = ans.Token
	}
	if !ok || !r.Authorized(token) {
		return run.Errorf(run.NotFound, "code", "this handover link is used or expired: ask the run's owner for a new one")
	}
	return c.JSON(http.StatusOK, map[string]string{"token": token})
}
