package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
)

var errDraining = errors.New("draining: the server is shutting down")

// drain is the graceful half of shutdown: readiness turns 503 (load balancers stop sending new
// clients), the listener closes, and every client is told "shutdown" and disconnected at the
// transport level — spread over the window with jitter (NATS lame-duck style) so the clients'
// reconnects do not arrive as one storm elsewhere. Queued bytes are flushed before each close.
func (s *Server) drain(ctx context.Context, window time.Duration) {
	s.draining.Store(true)
	s.Net.StopAccepting()
	type ender func()
	var ends []ender
	for _, sess := range s.SIO.Sessions() {
		sess := sess
		ends = append(ends, func() {
			s.SIO.Notify(sess, "pushgate:close", []byte(`{"reason":"shutdown"}`))
			sess.Close(conn.ReasonShutdown)
		})
	}
	for _, k := range s.SSE.Streams() {
		k := k
		ends = append(ends, func() { k.End("shutdown") })
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
