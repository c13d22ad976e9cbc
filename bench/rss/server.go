package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// server is one `explorer serve` child process on a free loopback port.
type server struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT
	log    *os.File
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's answer, once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// serverStart is how long a server may take to print its address.
const serverStart = time.Minute

// stopGrace is how long a stopping server may take before it is killed.
const stopGrace = 30 * time.Second

// listening matches the line serve prints once it listens.
var listening = regexp.MustCompile(`running at (http://127\.0\.0\.1:[0-9]+)/`)

// startServer starts `explorer serve` on data, its output in logPath, and
// waits until it answers /healthz.
func startServer(ctx context.Context, explorer, data, logPath string, flags ...string) (*server, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, flags...)
	cmd := exec.Command(explorer, args...)
	addr := &addrWatcher{w: log, found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = addr, log
	// The server must not outlive this program, however it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", explorer, err)
	}
	s := &server{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(serverStart)
	defer timer.Stop()
	select {
	case s.url = <-addr.found:
	case <-s.exited:
		log.Close()
		return nil, fmt.Errorf("explorer serve exited at start (%v); see %s", s.err, logPath)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("explorer serve printed no address within %s; see %s", serverStart, logPath)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	resp, err := http.Get(s.url + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("explorer serve /healthz: %w", err)
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the server as Ctrl+C does (runs stopped, websockets closed),
// killing it after stopGrace. It reports an unclean exit; later calls
// return the first answer.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		defer s.log.Close()
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Signal(os.Interrupt)
			t := time.NewTimer(stopGrace)
			defer t.Stop()
			select {
			case <-s.exited:
			case <-t.C:
				s.cmd.Process.Kill()
				<-s.exited
				s.stopErr = fmt.Errorf("explorer serve did not stop within %s of SIGINT: killed", stopGrace)
				return
			}
		}
		if s.err != nil {
			s.stopErr = fmt.Errorf("explorer serve: %w; see %s", s.err, s.log.Name())
		}
	})
	return s.stopErr
}

// addrWatcher passes the server's stdout to w and sends the first
// listening address it sees on found.
type addrWatcher struct {
	w     io.Writer
	found chan string
	buf   []byte // stdout until the address is found
	done  bool
}

func (a *addrWatcher) Write(p []byte) (int, error) {
	if !a.done {
		a.buf = append(a.buf, p...)
		if m := listening.FindSubmatch(a.buf); m != nil {
			a.done, a.buf = true, nil
			a.found <- string(m[1])
		}
	}
	return a.w.Write(p)
}

// client speaks the explorer's HTTP API as one browser session (its
// cookie jar holds the session cookie, which stays valid across restarts
// on the same data folder).
type client struct {
	base string
	http *http.Client
}

// runRequest is the body of POST /api/runs; the rest of the config keeps
// the server's defaults.
type runRequest struct {
	Dataset    string `json:"dataset"`
	Epochs     int    `json:"epochs"`
	Projection string `json:"projection"`
}

// runSummary is what the bench reads of a run summary.
type runSummary struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Epoch  int    `json:"epoch"`
	Epochs int    `json:"epochs"`
	Error  string `json:"error"`
}

// newClient starts a session on base and checks that it offers dataset.
func newClient(ctx context.Context, base, dataset string) (*client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &client{base: base, http: &http.Client{Jar: jar, Timeout: time.Minute}}
	var ds []struct {
		ID    string `json:"id"`
		Items int    `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/datasets", nil, &ds); err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.ID == dataset {
			return c, nil
		}
	}
	return nil, fmt.Errorf("the server has no dataset %q", dataset)
}

// do sends a request with a JSON body (when body is not nil) and decodes
// a 2xx answer into out; any other answer is an error with its message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		json.Unmarshal(b, &e)
		return fmt.Errorf("%s %s: %s: %s (field %q)", method, path, resp.Status, e.Error, e.Field)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// createRun starts a run and returns its summary.
func (c *client) createRun(ctx context.Context, r runRequest) (runSummary, error) {
	var s runSummary
	err := c.do(ctx, http.MethodPost, "/api/runs", r, &s)
	return s, err
}

// errRunEnded is a run that ended otherwise than done.
var errRunEnded = errors.New("run ended without finishing")

// countDone returns how many of ids are done; a run that failed, was
// stopped or interrupted is an error.
func (c *client) countDone(ctx context.Context, ids []string) (int, error) {
	var runs []runSummary
	if err := c.do(ctx, http.MethodGet, "/api/runs", nil, &runs); err != nil {
		return 0, err
	}
	byID := make(map[string]runSummary, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	done := 0
	for _, id := range ids {
		r, ok := byID[id]
		switch {
		case !ok:
			return 0, fmt.Errorf("run %s is not in this session's list", id)
		case r.State == "done":
			done++
		case r.State == "failed" || r.State == "stopped" || r.State == "interrupted":
			return 0, fmt.Errorf("run %s: %s at epoch %d %s: %w", id, r.State, r.Epoch, r.Error, errRunEnded)
		}
	}
	return done, nil
}
