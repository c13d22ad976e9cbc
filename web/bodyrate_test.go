package web

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTricklingUploadIsCutOff checks that a client sending its upload a
// byte at a time is answered 408 once it falls behind the minimum rate,
// instead of holding the connection and a parse slot forever, and that the
// server still answers others.
func TestTricklingUploadIsCutOff(t *testing.T) {
	s := newTestServer(t, Options{BodyGrace: 500 * time.Millisecond, MinBodyRate: 1000})
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n" + csvRows(2000) + "\r\n--x--\r\n"
	fmt.Fprintf(conn, "POST /api/datasets HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n", u.Host, len(body))
	start := time.Now()
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- nil
			return
		}
		answered <- resp
	}()
	for i := 0; i < len(body); i++ {
		select {
		case resp := <-answered:
			if resp == nil || resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("a trickling upload got %v, want 408", resp)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("cut off after %v", d)
			}
			if a := call(t, s, "GET", "/healthz", nil, ""); a.status != http.StatusOK || !strings.Contains(string(a.body), "ok") {
				t.Errorf("the server is not healthy after: %d", a.status)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{body[i]}); err != nil {
			break // the server closed the connection: the answer is on its way
		}
	}
	select {
	case resp := <-answered:
		if resp == nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("a trickling upload got %v, want 408", resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a trickling upload was never cut off")
	}
}
