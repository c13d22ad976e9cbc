// Package natstest starts a real NATS server in the test's process
// (github.com/nats-io/nats-server/v2), on a free loopback port, for tests
// of replicas that share one.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server that lives until its test ends.
type Server struct {
	*server.Server
	url string
}

// Start runs a NATS server for t's lifetime and returns it.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Server: run(t, server.RANDOM_PORT)}
	s.url = s.ClientURL()
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// run starts a server on port of the loopback interface.
func run(t testing.TB, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true,
		MaxPayload: 8 << 20,
	})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("natstest: the NATS server did not become ready in 10 s")
	}
	return s
}

// Restart stops the server and starts a new one on the same port, as a
// NATS restart does: clients reconnect, and what was published meanwhile
// is lost.
func (s *Server) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	port := s.Addr().(*net.TCPAddr).Port
	s.Shutdown()
	s.WaitForShutdown()
	time.Sleep(down)
	s.Server = run(t, port)
}

// URL is the nats:// address clients connect to.
func (s *Server) URL() string { return s.url }
