package web

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// sessionCookie names the cookie that tells browser sessions apart: uploads
// belong to the session that made them (docs/protocol.md, "Uploads and
// sessions").
const sessionCookie = "explorer_session"

// sessionKey is where the session middleware leaves the request's session
// id for the handlers.
const sessionKey = "explorer.session"

// sessionIDBytes is the size of a session id: 128 random bits, written as
// 32 lower-case hex digits.
const sessionIDBytes = 16

// sessions is middleware that gives every request a session: the one its
// cookie names, or a new one from crypto/rand, set as an HttpOnly,
// SameSite=Lax cookie (Secure over TLS) that lasts as long as the browser
// session. A session holds nothing on the server until it uploads.
func sessions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id := ""
		if ck, err := c.Request().Cookie(sessionCookie); err == nil && validSessionID(ck.Value) {
			id = ck.Value
		} else {
			id = randomHex(sessionIDBytes)
			c.SetCookie(&http.Cookie{
				Name: sessionCookie, Value: id, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Request().TLS != nil,
			})
		}
		c.Set(sessionKey, id)
		return next(c)
	}
}

// session returns the request's session id, "" outside the middleware.
func session(c *echo.Context) string {
	id, _ := c.Get(sessionKey).(string)
	return id
}

// validSessionID reports whether s has the form of a session id. Any such
// id is accepted: it is a bearer secret, worth as much as its randomness.
func validSessionID(s string) bool {
	if len(s) != 2*sessionIDBytes {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
