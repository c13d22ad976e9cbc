package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
)

// deliveryBuckets are the upper bounds, in seconds, of the histogram of
// live frames' delivery: from the frame's publication to the last byte of
// it written to a viewer's websocket.
var deliveryBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5}

// serverMetrics counts what /metrics reports beyond the runner's load.
// Every field is updated atomically by the websocket writers.
type serverMetrics struct {
	framesSent atomic.Int64 // coordinate frames written to websockets (history and live)
	delivered  [len(deliveryBuckets) + 1]atomic.Int64
	sumMicros  atomic.Int64 // of the live frames' delivery times
}

// observeDelivery records a live frame written d after its publication.
func (m *serverMetrics) observeDelivery(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(deliveryBuckets) && s > deliveryBuckets[i] {
		i++
	}
	m.delivered[i].Add(1)
	m.sumMicros.Add(d.Microseconds())
}

// metrics answers GET /metrics in Prometheus's text format: runs training,
// queued and in memory, open run views, frames sent, and the histogram of
// live frames' delivery times. It holds counts only, nothing of anyone's
// runs or data.
func (s *Server) metrics(c *echo.Context) error {
	load := s.runs.Load()
	var b strings.Builder
	gauge := func(name, help string, v int) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	gauge("explorer_run_slots_busy", "CPU slots held: runs training, and projections of runs that no longer train.", load.Slots)
	gauge("explorer_run_slots", "CPU slots (--max-runs).", load.MaxSlots)
	gauge("explorer_runs_queued", "Runs waiting for a slot to train (among replicas: in the shared queue).", load.Queued)
	gauge("explorer_runs_training", "Runs training on this replica.", load.Training)
	gauge("explorer_runs_resident", "Runs held in memory.", load.Resident)
	gauge("explorer_viewers", "Open run views (websockets).", s.viewerCount())
	fmt.Fprintf(&b, "# HELP explorer_frames_sent_total Coordinate frames written to viewers, history and live.\n# TYPE explorer_frames_sent_total counter\nexplorer_frames_sent_total %d\n", s.stats.framesSent.Load())
	const h = "explorer_frame_delivery_seconds"
	fmt.Fprintf(&b, "# HELP %s From a live frame's publication to its last byte written to a viewer.\n# TYPE %s histogram\n", h, h)
	var cum int64
	for i := range s.stats.delivered {
		cum += s.stats.delivered[i].Load()
		le := "+Inf"
		if i < len(deliveryBuckets) {
			le = strconv.FormatFloat(deliveryBuckets[i], 'g', -1, 64)
		}
		fmt.Fprintf(&b, "%s_bucket{le=%q} %d\n", h, le, cum)
	}
	fmt.Fprintf(&b, "%s_sum %s\n%s_count %d\n", h, strconv.FormatFloat(float64(s.stats.sumMicros.Load())/1e6, 'g', -1, 64), h, cum)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
}

// viewerCount is the number of open run websockets.
func (s *Server) viewerCount() int {
	s.viewersMu.Lock()
	defer s.viewersMu.Unlock()
	n := 0
	for _, v := range s.viewers {
		n += v
	}
	return n
}

// readyTimeout bounds /readyz's check of the store.
const readyTimeout = 2 * time.Second

// readyz answers GET /readyz: 200 when the server can serve, its store
// answering a query and its bus (if any) a ping within readyTimeout; 503 saying what is wrong
// otherwise, so a load balancer takes the replica out. (/healthz only says
// the process is up.)
func (s *Server) readyz(c *echo.Context) error {
	if s.ctx.Err() != nil {
		return c.String(http.StatusServiceUnavailable, "shutting down")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if _, err := s.store.Runs(ctx, run.RunFilter{Limit: 1}); err != nil {
		s.log.Warn("readyz: the store does not answer", "err", err)
		return c.String(http.StatusServiceUnavailable, "the store does not answer")
	}
	if s.bus != nil {
		if err := s.bus.Ping(ctx); err != nil {
			s.log.Warn("readyz: the bus does not answer", "err", err)
			return c.String(http.StatusServiceUnavailable, "the bus to the other replicas (NATS) does not answer")
		}
	}
	return c.String(http.StatusOK, "ready")
}

// pinger is a Bus that can say whether it is connected.
type pinger interface {
	Ping(ctx context.Context) error
}
