package runner

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/hist"
	"github.com/pushgate/pushgate/loadtest/netloop"
)

// wstats is one worker's measurements. The histograms except cum are only
// touched on the worker goroutine (and read by Finish after it stopped).
type wstats struct {
	sem     chan struct{}
	byStep  map[int]*hist.Histogram
	connect *hist.Histogram
	delta   *hist.Histogram

	mu  sync.Mutex
	cum *hist.Histogram // everything so far, for progress lines

	ready, failed, dropped, slowClosed, deliveries atomic.Int64
}

func newWStats(sem chan struct{}) *wstats {
	return &wstats{sem: sem, byStep: map[int]*hist.Histogram{}, connect: hist.New(), delta: hist.New(), cum: hist.New()}
}

// Delivered implements client.Sink.
func (s *wstats) Delivered(now, sentAt int64, step int) {
	h := s.byStep[step]
	if h == nil {
		h = hist.New()
		s.byStep[step] = h
	}
	us := (now - sentAt) / 1000
	h.RecordMicros(us)
	s.delta.RecordMicros(us)
	s.deliveries.Add(1)
}

func (s *wstats) onReady(c *netloop.Conn, now int64) {
	s.connect.RecordMicros((c.M.State().ReadyAt - c.DialAt) / 1000)
	s.ready.Add(1)
	<-s.sem
}

func (s *wstats) onEnd(c *netloop.Conn, now int64) {
	st := c.M.State()
	switch {
	case st.ReadyAt == 0:
		s.failed.Add(1)
		<-s.sem
	case errors.Is(st.Err, netloop.ErrSlowClosed):
		s.ready.Add(-1)
		s.slowClosed.Add(1)
	default:
		s.ready.Add(-1)
		s.dropped.Add(1)
	}
}

func (s *wstats) tick(now int64) {
	if s.delta.Count() == 0 {
		return
	}
	s.mu.Lock()
	s.cum.Merge(s.delta)
	s.mu.Unlock()
	s.delta.Reset()
}

// errKind names the class of a client error for error_kinds.
func errKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{netloop.ErrHandshakeTimeout, "handshake_timeout"},
		{netloop.ErrDial, "dial"},
		{netloop.ErrSlowClosed, "slow_closed"},
		{netloop.ErrEOF, "eof"},
		{client.ErrRefused, "refused"},
		{client.ErrProtocol, "protocol"},
		{client.ErrClosed, "server_close"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if client.IsClosedByServer(err) {
		return "server_close"
	}
	return "other"
}
