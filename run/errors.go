package run

import (
	"errors"
	"fmt"
)

// Code classifies an Error, so that an adapter (web maps each to an HTTP
// status) can answer without knowing where the error came from.
type Code string

// The error codes.
const (
	Invalid      Code = "invalid"      // bad input, naming the field to blame
	NotFound     Code = "not_found"    // no such run, dataset, epoch or upload (for this caller)
	Conflict     Code = "conflict"     // the run's state does not allow the action
	Forbidden    Code = "forbidden"    // the caller does not hold the run's token
	TooMany      Code = "too_many"     // a bound on how many (queued runs, runs per session, requests)
	TooLarge     Code = "too_large"    // a bound on size (an upload, a body)
	Unsupported  Code = "unsupported"  // a format the explorer cannot read
	Insufficient Code = "insufficient" // the server's budget (memory for uploads) is spent
	Unavailable  Code = "unavailable"  // the server is shutting down
)

// ErrNotFound is matched (errors.Is) by every error with Code NotFound, and
// wrapped by stores' lookups of what does not exist.
var ErrNotFound = errors.New("not found")

// Error is an error meant for the user: Message says what went wrong in
// words a learner understands, Field names the setting to blame ("" when
// none). Internal errors are plain errors and are never shown.
type Error struct {
	Code    Code
	Field   string
	Message string
}

// Error returns the message, prefixed by the field when there is one.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is matches ErrNotFound for Code NotFound.
func (e *Error) Is(target error) bool { return target == ErrNotFound && e.Code == NotFound }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of the *Error in err's chain, "" when there is
// none (an internal error), and NotFound for errors wrapping ErrNotFound.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrNotFound):
		return NotFound
	}
	return ""
}
