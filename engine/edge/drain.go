package edge

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
)

var errDraining = errors.New("draining: the server is shutting down")

// Drain is the graceful half of shutdown: readiness turns 503 (load balancers stop sending new
// clients), the listener closes, and every client is told "shutdown" and disconnected at the
// transport level — spread over the window with jitter (NATS lame-duck style) so the clients'
// reconnects do not arrive as one storm elsewhere. Queued bytes are flushed before each close.
func (s *Server) Drain(ctx context.Context, window time.Duration) {
	s.draining.Store(true)
	s.Net.StopAccepting()
	// Every client is ended through the one end path of its kind, so each is told "shutdown",
	// counted once in pushgate_server_disconnects_total{reason="shutdown"}, and not ended twice
	// by a configuration change or an expiry racing the drain.
	var ends []func()
	for _, sess := range s.SIO.Sessions() {
		ends = append(ends, func() { s.push.EndSession(s.SIO, sess, conn.ReasonShutdown) })
	}
	for _, end := range s.SSE.Streams() {
		ends = append(ends, func() { end(conn.ReasonShutdown) })
	}
	if len(ends) == 0 || window <= 0 {
		for _, e := range ends {
			e()
		}
		return
	}
	rand.Shuffle(len(ends), func(i, j int) { ends[i], ends[j] = ends[j], ends[i] })
	// Close in batches so that the spacing between batches is at least 1 ms.
	step := window / time.Duration(len(ends))
	batch := 1
	if step < time.Millisecond {
		batch = int(time.Millisecond/max(step, 1)) + 1
		step = time.Millisecond * time.Duration(1)
	}
	s.log.Info("draining", "clients", len(ends), "window", window.String())
	for i := 0; i < len(ends); i += batch {
		for _, e := range ends[i:min(i+batch, len(ends))] {
			e()
		}
		// jitter in [step/2, step*3/2): the average keeps the window, no two servers in step
		d := step/2 + time.Duration(rand.Int64N(int64(step)+1))
		select {
		case <-ctx.Done():
			for _, e := range ends[min(i+batch, len(ends)):] {
				e()
			}
			return
		case <-time.After(d):
		}
	}
}
