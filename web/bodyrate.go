package web

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v5"
)

// errTooSlow is the read error of a request body that came slower than the
// minimum rate.
var errTooSlow = errors.New("the request body came too slowly")

// bodyRate is middleware that makes request bodies keep a minimum rate: a
// body must have arrived, at any moment, at minRate bytes a second after a
// grace period, or the connection's read deadline passes and the handler's
// next read fails with errTooSlow. A client trickling a body a byte at a
// time thus holds a connection (and an upload slot) for the grace period,
// not forever, while a large upload on a slow but honest link goes on.
func bodyRate(grace time.Duration, minRate int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
				return next(c)
			}
			rc := http.NewResponseController(c.Response())
			r := &rateReader{r: req.Body, rc: rc, start: time.Now(), grace: grace, rate: minRate}
			// Set now, not only on the first read: a handler that refuses
			// the request unread leaves the server to drain the body.
			_ = rc.SetReadDeadline(r.start.Add(grace))
			req.Body = r
			defer func() {
				// A body read to its end leaves a connection that may serve
				// more requests (keep-alive): no deadline. Any other keeps
				// its deadline, so the server's drain of the rest of the
				// body fails at once and the connection closes, rather than
				// wait for a trickle.
				if r.eof {
					_ = rc.SetReadDeadline(time.Time{})
				}
			}()
			return next(c)
		}
	}
}

// rateReader moves the connection's read deadline as the body arrives.
type rateReader struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
	eof   bool // the body was read to its end
}

func (b *rateReader) Read(p []byte) (int, error) {
	due := b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
	if err := b.rc.SetReadDeadline(due); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		b.eof = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = errTooSlow
	}
	return n, err
}

func (b *rateReader) Close() error { return b.r.Close() }
