package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
)

// sessionCookie names the cookie that tells browser sessions apart: uploads
// and runs belong to the session that made them (docs/protocol.md,
// "Uploads and sessions").
const sessionCookie = "explorer_session"

// sessionKey is where the session middleware leaves the request's session
// id for the handlers.
const sessionKey = "explorer.session"

// sessionIDBytes is the size of a session id: 128 random bits, written as
// 32 lower-case hex digits.
const sessionIDBytes = 16

// sessions is middleware that gives every request a session: the one its
// cookie names if the server issued that cookie, or a new one from
// crypto/rand, set as an HttpOnly, SameSite=Lax cookie (Secure over TLS)
// that lasts as long as the browser session. The cookie is the id and an
// HMAC of it under the server's key, so a value the server did not issue
// (a guessed or planted id) is replaced, not adopted. A session holds
// nothing on the server until it uploads or creates a run.
func (s *Server) sessions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id := ""
		if ck, err := c.Request().Cookie(sessionCookie); err == nil {
			id = s.verifySession(ck.Value)
		}
		if id == "" {
			id = run.RandomHex(sessionIDBytes)
			c.SetCookie(&http.Cookie{
				Name: sessionCookie, Value: signSession(s.sessionKey, id), Path: "/",
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Request().TLS != nil,
			})
		}
		c.Set(sessionKey, id)
		return next(c)
	}
}

// signSession returns the cookie value of session id under key.
func signSession(key []byte, id string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	return id + "." + hex.EncodeToString(mac.Sum(nil))
}

// verifySession returns the session id of a cookie value the server
// issued, "" for any other value.
func (s *Server) verifySession(v string) string {
	id, _, ok := strings.Cut(v, ".")
	if !ok || !validSessionID(id) {
		return ""
	}
	if !hmac.Equal([]byte(signSession(s.sessionKey, id)), []byte(v)) {
		return ""
	}
	return id
}

// session returns the request's session id, "" outside the middleware.
func session(c *echo.Context) string {
	id, _ := c.Get(sessionKey).(string)
	return id
}

// validSessionID reports whether s has the form of a session id.
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
