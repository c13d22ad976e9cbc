package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	sampledata "github.com/contrastive-explorer/explorer/sample-data"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/views"
)

// The handlers' errors are the domain's (*run.Error), so that one mapper,
// classify, answers them all; these build them.

// badInput is bad input in a request: 400 naming the field.
func badInput(field, format string, args ...any) error {
	return run.Errorf(run.Invalid, field, format, args...)
}

// conflict is an action the run's state does not allow: 409.
func conflict(format string, args ...any) error {
	return run.Errorf(run.Conflict, "", format, args...)
}

// notFound is what does not exist for the caller: 404.
func notFound(format string, args ...any) error {
	return run.Errorf(run.NotFound, "", format, args...)
}

// statusError is a refusal with a status no domain code has (408 for a
// body that trickles in).
type statusError struct {
	code  int
	field string
	msg   string
}

func (e *statusError) Error() string { return e.msg }

// errForbidden answers a control request without the run's token.
var errForbidden = run.Errorf(run.Forbidden, "", "this action needs the run's control token (Authorization: Bearer <token>)")

// errShuttingDown answers requests that would start work while the server
// stops.
var errShuttingDown = run.Errorf(run.Unavailable, "", "the server is shutting down")

// runErrorStatus is the HTTP status of each code of the domain's errors.
var runErrorStatus = map[run.Code]int{
	run.Invalid:      http.StatusBadRequest,
	run.NotFound:     http.StatusNotFound,
	run.Conflict:     http.StatusConflict,
	run.Forbidden:    http.StatusForbidden,
	run.TooMany:      http.StatusTooManyRequests,
	run.TooLarge:     http.StatusRequestEntityTooLarge,
	run.Unsupported:  http.StatusUnsupportedMediaType,
	run.Insufficient: http.StatusInsufficientStorage,
	run.Unavailable:  http.StatusServiceUnavailable,
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

// classify maps an error to its status and the body the client sees. Only
// 500s get a generic message: their details stay in the log.
func classify(err error) (int, errorBody) {
	var (
		fe  *trainer.FieldError
		sc  echo.HTTPStatusCoder
		he  *echo.HTTPError
		mbe *http.MaxBytesError
		se  *statusError
	)
	var re *run.Error
	switch {
	case errors.As(err, &re):
		return runErrorStatus[re.Code], errorBody{Error: re.Message, Field: re.Field}
	case errors.As(err, &fe):
		return http.StatusBadRequest, errorBody{Error: fe.Msg, Field: fe.Field}
	case errors.As(err, &se):
		return se.code, errorBody{Error: se.msg, Field: se.field}
	case errors.Is(err, run.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: err.Error()}
	case errors.Is(err, sampledata.ErrUnknown):
		return http.StatusNotFound, errorBody{Error: "no such dataset"}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorBody{Error: "request body too large"}
	case errors.As(err, &he) && he.Code < 500:
		msg := he.Message
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return he.Code, errorBody{Error: strings.ToLower(msg)}
	case errors.As(err, &sc) && sc.StatusCode() >= 400 && sc.StatusCode() < 500:
		return sc.StatusCode(), errorBody{Error: strings.ToLower(http.StatusText(sc.StatusCode()))}
	}
	return http.StatusInternalServerError, errorBody{Error: "internal server error"}
}

// handleError is the server's one HTTPErrorHandler: it maps domain errors to
// statuses (see classify), logs internal errors once, and answers JSON, or
// an HTML page to a browser asking for a page.
func (s *Server) handleError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		// The answer is on its way (or the connection was hijacked for a
		// websocket): all that is left is to record the error.
		s.log.Warn("error after response started", "path", c.Request().URL.Path, "err", err)
		return
	}
	status, body := classify(err)
	if status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	req := c.Request()
	if req.Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	var werr error
	if wantsHTML(req) {
		title := http.StatusText(status)
		msg := body.Error
		if status == http.StatusNotFound {
			title, msg = "Not found", "There is nothing at this address. "+upperFirst(body.Error)+"."
		}
		werr = render(c, status, views.Error(views.ErrorPage{Status: status, Title: title, Message: msg}))
	} else {
		werr = c.JSON(status, body)
	}
	if werr != nil {
		s.log.Debug("writing error answer", "err", werr)
	}
}

// wantsHTML reports whether r is a browser's page request rather than an
// API or asset request.
func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ws/") || strings.HasPrefix(p, "/static/") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
