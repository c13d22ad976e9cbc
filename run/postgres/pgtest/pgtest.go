// Package pgtest starts throwaway PostgreSQL clusters for tests: the real
// server, set up by initdb and started by pg_ctl in a temporary folder,
// listening on a loopback port, stopped and removed when the test ends.
//
// initdb and pg_ctl are looked up in PATH, then in $EXPLORER_PG_BIN. When
// they are missing the test is skipped with a message saying so, unless
// $EXPLORER_REQUIRE_POSTGRES is set (CI sets it), which makes it fail. The
// server refuses to run as root, so a root process runs it as the user
// "postgres" (which Debian's package creates), else "nobody".
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser (trust authentication
// on loopback, so no password).
const Superuser = "explorer"

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir  string // holds data/, the socket and the server's log
	port int
	bin  string // the folder of initdb and pg_ctl
	cred *syscall.Credential
	dbs  atomic.Int64
}

// Start starts a cluster that t's cleanup stops and removes, or skips t
// (fails it under $EXPLORER_REQUIRE_POSTGRES) when PostgreSQL's programs
// are missing. It takes a second or two.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("EXPLORER_REQUIRE_POSTGRES") != "" {
			t.Fatalf("pgtest: %v, and EXPLORER_REQUIRE_POSTGRES is set", err)
		}
		t.Skipf("pgtest: %v: install PostgreSQL (Debian: apt-get install postgresql) or set EXPLORER_PG_BIN to run these tests", err)
	}
	c := &Cluster{bin: bin}
	if err := c.start(t); err != nil {
		t.Fatal(err)
	}
	return c
}

// binDir finds the folder holding initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	if d := os.Getenv("EXPLORER_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("EXPLORER_PG_BIN=%s holds no initdb", d)
		}
		return d, nil
	}
	return "", fmt.Errorf("initdb is not in PATH and EXPLORER_PG_BIN is not set")
}

func (c *Cluster) start(t testing.TB) error {
	dir, err := os.MkdirTemp("", "explorer-pgtest-")
	if err != nil {
		return err
	}
	c.dir = dir
	t.Cleanup(func() { c.stop(t) })
	if os.Geteuid() == 0 {
		if c.cred, err = serverUser(); err != nil {
			return err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	if err := c.run("initdb", "-D", c.data(), "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return err
	}
	// A port that was free a moment ago may be taken by the time the
	// server binds it: try a few.
	for range 3 {
		if c.port, err = freePort(); err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", c.port, dir)
		if err = c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err == nil {
			return nil
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	return fmt.Errorf("%w\nserver log:\n%s", err, log)
}

func (c *Cluster) stop(t testing.TB) {
	pidFile := filepath.Join(c.data(), "postmaster.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("pgtest: stopping the cluster: %v", err)
			// Never leave a server running without its folder: its
			// pid is the file's first line.
			if pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	os.RemoveAll(c.dir)
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of PostgreSQL's programs as the server's user.
func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", name, err, out.Bytes())
	}
	return nil
}

// serverUser is the user a root process runs the server as.
func serverUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, fmt.Errorf("pgtest: running as root, and neither user postgres nor nobody exists to run the server as")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the URL of database db of the cluster.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(Superuser), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db}
	u.RawQuery = "sslmode=disable"
	return u.String()
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("test_%d", c.dbs.Add(1))
	// The name is ours: a counter, not user input.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c.URL(name)
}
