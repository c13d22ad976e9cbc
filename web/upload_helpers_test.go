package web

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Sessions of the upload tests: any 32 lower-case hex digits make one.
var (
	sessionA = strings.Repeat("a1", 16)
	sessionB = strings.Repeat("b2", 16)
)

// part is one part of a multipart upload: a form field when file is "",
// else a file part with that file name.
type part struct {
	name, file, content string
}

func field(name, value string) part      { return part{name: name, content: value} }
func filePart(file, content string) part { return part{name: "file", file: file, content: content} }

// multipartBody encodes parts in order and returns the body and its
// content type.
func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	t.Helper()
	return multipartBodyWith(t, "", parts...)
}

// multipartBodyWith is multipartBody with a given boundary ("" for a
// random one).
func multipartBodyWith(t testing.TB, boundary string, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if boundary != "" {
		if err := mw.SetBoundary(boundary); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.file != "" {
			w, err = mw.CreateFormFile(p.name, p.file)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// callAs sends one request as a browser session (its cookie) to h, the
// real echo instance. body is sent as JSON unless it is []byte, which goes
// with contentType.
func callAs(t testing.TB, h http.Handler, sess, method, path string, body []byte, contentType string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if sess != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookieOf(sess)})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// postUpload posts parts to POST /api/datasets as sess.
func postUpload(t testing.TB, h http.Handler, sess string, parts ...part) answer {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	return callAs(t, h, sess, "POST", "/api/datasets", body, ct)
}

// mustUpload uploads and expects 201.
func mustUpload(t *testing.T, h http.Handler, sess string, parts ...part) datasetJSON {
	t.Helper()
	a := postUpload(t, h, sess, parts...)
	if a.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
	var d datasetJSON
	a.json(t, &d)
	return d
}

// csvRows is a CSV of n items: two features and a label, a or b.
func csvRows(n int) string {
	var b strings.Builder
	b.WriteString("x,y,label\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,%d.5,%c\n", i%7, i%3, 'a'+i%2)
	}
	return b.String()
}

// textLines is a labelled text file of n items about two topics.
func textLines(n int) string {
	topics := [][]string{
		{"animals", "the quick brown fox jumps over the lazy dog", "a cat sleeps on the warm windowsill", "the horse runs across the green field"},
		{"cooking", "stir the onions slowly in butter", "bake the bread until golden brown", "season the soup with salt and pepper"},
	}
	var b strings.Builder
	for i := range n {
		tp := topics[i%2]
		fmt.Fprintf(&b, "%s\t%s number %d\n", tp[0], tp[1+i/2%3], i)
	}
	return b.String()
}

// interactionRows is a user,item CSV: 8 users, each playing 4 of 12 named
// tracks of two genres.
func interactionRows() string {
	tracks := []string{"Neon Harbor", "Midnight Drive", "Glass Rain", "Echo Park", "Silver Tide", "Night Runner",
		"Blue Lantern", "Paper Moon", "Copper Sky", "Quiet Storm", "Velvet Road", "Harbor Lights"}
	var b strings.Builder
	b.WriteString("user,item,genre\n")
	for u := range 8 {
		for k := range 4 {
			i := (u*3 + k) % len(tracks)
			genre := "synthwave"
			if i%2 == 1 {
				genre = "ambient"
			}
			fmt.Fprintf(&b, "u%d,%s,%s\n", u, tracks[i], genre)
		}
	}
	return b.String()
}

// zipOf builds a zip archive of name → content entries, deflated, in the
// given order.
func zipOf(t testing.TB, entries ...[2]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// pngOf encodes a w×h grey image with a diagonal stroke, shifted by seed.
func pngOf(t testing.TB, w, h, seed int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if (x+y+seed)%w < 2 {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// hugePNG is a valid PNG header claiming w×h pixels: what a decompression
// bomb looks like before its pixels are read.
func hugePNG(t testing.TB, w, h uint32) string {
	t.Helper()
	b := []byte(pngOf(t, 1, 1, 0))
	// Signature (8), IHDR length (4), "IHDR" (4), then width and height.
	be := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	be(16, w)
	be(20, h)
	be(29, crc32.ChecksumIEEE(b[12:29])) // the chunk's CRC covers type and data
	return string(b)
}

// imageZip is a zip of 2 classes × 6 small PNGs.
func imageZip(t testing.TB) string {
	var entries [][2]string
	for _, class := range []string{"circles", "crosses"} {
		for i := range 6 {
			entries = append(entries, [2]string{fmt.Sprintf("%s/%d.png", class, i), pngOf(t, 12, 12, i+len(class))})
		}
	}
	return zipOf(t, entries...)
}

// projectorFiles are 12 Embedding Projector vectors in 4 dimensions and
// their metadata, two classes.
func projectorFiles() (vectors, metadata string) {
	var v, m strings.Builder
	m.WriteString("name\tlabel\n")
	for i := range 12 {
		c := float64(i % 2)
		fmt.Fprintf(&v, "%g\t%g\t%g\t%g\n", c+0.1*float64(i), 1-c, 0.5*c, 0.01*float64(i))
		fmt.Fprintf(&m, "point %d\t%s\n", i, []string{"even", "odd"}[i%2])
	}
	return v.String(), m.String()
}

// testSessionKey signs the session cookies of test servers, so that tests
// can speak as a session they name (sessionA, sessionB).
var testSessionKey = []byte("test session key")

// cookieOf returns the cookie a test server issues for session id sess; a
// value that is not a session id is sent as it is.
func cookieOf(sess string) string {
	if !validSessionID(sess) {
		return sess
	}
	return signSession(testSessionKey, sess)
}
