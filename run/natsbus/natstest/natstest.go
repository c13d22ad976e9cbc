// Package natstest starts a real NATS server in the test's process
// (github.com/nats-io/nats-server/v2), on a free loopback port, for tests
// of replicas that share one.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server that lives until its test ends.
type Server struct {
	*server.Server
}

// Start runs a NATS server for t's lifetime and returns it.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
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
	t.Cleanup(s.Shutdown)
	return &Server{s}
}

// URL is the nats:// address clients connect to.
func (s *Server) URL() string { return s.ClientURL() }
