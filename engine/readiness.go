package engine

import (
	"sync"
	"time"
)

// readinessPoll is how often Run re-evaluates readiness to log its changes: a probe sees a
// change at once (it evaluates on every request); the log line follows within this period.
const readinessPoll = 250 * time.Millisecond

// readyChecks are the readiness conditions other parts of the process add to the server's
// (engine/cluster: joined the instance directory).
type readyChecks struct {
	mu     sync.Mutex
	checks []func() error
}

// AddReadyCheck makes /readyz (and pushgate_ready) also depend on fn: the server is ready only
// while fn returns nil, and its error is the reason given. Call it before Run.
func (s *Server) AddReadyCheck(fn func() error) {
	s.ready.mu.Lock()
	s.ready.checks = append(s.ready.checks, fn)
	s.ready.mu.Unlock()
}

// localReady is this process's part of readiness ahead of the source's and the store's:
// draining, then the added checks.
func (s *Server) localReady() error {
	if err := s.draining(); err != nil {
		return err
	}
	s.ready.mu.Lock()
	checks := s.ready.checks
	s.ready.mu.Unlock()
	for _, fn := range checks {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// Ready is what /readyz answers: nil when ready, else the first reason.
func (s *Server) Ready() error {
	if err := s.localReady(); err != nil {
		return err
	}
	return s.Control.Ready()
}

// watchReadiness logs every change of readiness (from, to, why) until stop is closed: an
// operator reading the logs sees when and why the balancer stopped (or started) sending this
// instance traffic, without polling /readyz.
func (s *Server) watchReadiness(stop <-chan struct{}) {
	t := time.NewTicker(readinessPoll)
	defer t.Stop()
	ready, since := false, time.Now()
	var reason string
	for {
		err := s.Ready()
		switch {
		case err == nil && !ready:
			if reason == "" {
				s.log.Info("readiness changed", "from", "starting", "to", "ready", "after", time.Since(since).Round(time.Millisecond))
			} else {
				s.log.Info("readiness changed", "from", "not-ready", "to", "ready", "was", reason, "after", time.Since(since).Round(time.Millisecond))
			}
			ready, since = true, time.Now()
		case err != nil && ready:
			reason = err.Error()
			if s.draining() != nil { // a stop the operator asked for
				s.log.Info("readiness changed", "from", "ready", "to", "not-ready", "why", reason)
			} else {
				s.log.Warn("readiness changed", "from", "ready", "to", "not-ready", "why", reason)
			}
			ready, since = false, time.Now()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
