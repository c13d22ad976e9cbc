// Package natsbus carries runs' events and controls between explorer
// replicas over NATS (github.com/nats-io/nats.go): it implements
// runner.Bus. Messages are NATS core messages: at most once, in order per
// publisher and subject, which is what the runner relies on; what a
// replica misses while disconnected it reads back from the store (see
// runner's resync on Reconnected).
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Bus is one replica's connection to NATS.
type Bus struct {
	nc  *nats.Conn
	log *slog.Logger

	mu          sync.Mutex
	reconnected []func()
	lastResync  time.Time
}

// Connect dials the NATS servers at url (a comma-separated list, as
// nats.Connect takes), naming the connection name. It keeps reconnecting
// for as long as the Bus is open.
func Connect(ctx context.Context, url, name string, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: log}
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
			b.resync()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Warn("nats", "subject", subj, "err", err)
			if errors.Is(err, nats.ErrSlowConsumer) {
				// Messages were dropped: catch up as after a reconnect.
				b.resync()
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", redact(url), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connecting to NATS at %s: %w", redact(url), err)
	}
	b.nc = nc
	return b, nil
}

// redact drops a URL's password for messages.
func redact(url string) string {
	if i, j := strings.Index(url, "://"), strings.LastIndex(url, "@"); i >= 0 && j > i {
		return url[:i+3] + "…" + url[j:]
	}
	return url
}

// Publish sends data to subject's subscribers on every replica. It does
// not block on the network: NATS buffers, and flushes in the background.
func (b *Bus) Publish(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

// Subscribe calls fn with each message on subject, one at a time in the
// order they were published, until the returned function is called.
func (b *Bus) Subscribe(subject string, fn func(data []byte)) (func(), error) {
	s, err := b.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, err
	}
	// Frames are large and bursty: allow a deep backlog rather than
	// dropping (the runner catches up from the store if it ever drops).
	_ = s.SetPendingLimits(1<<16, 256<<20)
	return func() { _ = s.Unsubscribe() }, nil
}

// Handle answers each request on subject with fn's reply, until the
// returned function is called.
func (b *Bus) Handle(subject string, fn func(req []byte) []byte) (func(), error) {
	s, err := b.nc.Subscribe(subject, func(m *nats.Msg) {
		if err := m.Respond(fn(m.Data)); err != nil {
			b.log.Warn("nats reply", "subject", subject, "err", err)
		}
	})
	if err != nil {
		return nil, err
	}
	// The handler must be known to the server before a request can
	// find it.
	if err := b.nc.Flush(); err != nil {
		_ = s.Unsubscribe()
		return nil, err
	}
	return func() { _ = s.Unsubscribe() }, nil
}

// ErrNoHandler is the error of a request nobody handles.
var ErrNoHandler = errors.New("no replica answers for it")

// Request sends req to subject's handler and returns its reply, waiting
// until ctx ends; ErrNoHandler when no replica handles subject.
func (b *Bus) Request(ctx context.Context, subject string, req []byte) ([]byte, error) {
	m, err := b.nc.RequestWithContext(ctx, subject, req)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoHandler
	}
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// NoHandler reports whether err is a Request's ErrNoHandler.
func (b *Bus) NoHandler(err error) bool { return errors.Is(err, ErrNoHandler) }

// MaxPayload is the largest message the servers accept, in bytes.
func (b *Bus) MaxPayload() int { return int(b.nc.MaxPayload()) }

// resync calls the OnReconnect functions in a goroutine of their own, at
// most once a second: a burst of slow-consumer errors catches up once.
func (b *Bus) resync() {
	b.mu.Lock()
	if time.Since(b.lastResync) < time.Second {
		b.mu.Unlock()
		return
	}
	b.lastResync = time.Now()
	fns := append([]func(){}, b.reconnected...)
	b.mu.Unlock()
	go func() {
		for _, fn := range fns {
			fn()
		}
	}()
}

// OnReconnect calls fn each time the connection comes back after a loss,
// or after the server dropped messages for a subscription too slow to
// take them.
func (b *Bus) OnReconnect(fn func()) {
	b.mu.Lock()
	b.reconnected = append(b.reconnected, fn)
	b.mu.Unlock()
}

// Ping checks that a NATS server answers within ctx (for /readyz).
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("not connected to NATS (%s)", b.nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return b.nc.FlushWithContext(ctx)
}

// Close drains nothing: what is in flight is lost, as at a crash.
func (b *Bus) Close() { b.nc.Close() }
