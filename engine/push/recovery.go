package push

import (
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/transport"
)

// recovery remembers Socket.IO sockets that lost their transport, so a client reconnecting within
// the window with its private id (pid) and last offset gets the same socket id and the events it
// missed (socket.io ≥ 4.6 connection state recovery). A pid is a 120-bit secret and is used once;
// the token and the permission are checked again on every CONNECT.
type recovery struct {
	window time.Duration
	mu     sync.Mutex
	parked map[string]parked
	adds   int
}

type parked struct {
	sid       string
	nsp       string
	streamKey string
	at        time.Time
}

func newRecovery(window time.Duration) *recovery {
	if window <= 0 {
		return nil
	}
	return &recovery{window: window, parked: make(map[string]parked)}
}

func (r *recovery) park(pid string, p parked) {
	if r == nil || pid == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parked[pid] = p
	r.adds++
	if r.adds%1024 == 0 {
		for k, v := range r.parked {
			if p.at.Sub(v.at) > r.window {
				delete(r.parked, k)
			}
		}
	}
}

// take removes and returns the parked socket for pid if it is still within the window.
func (r *recovery) take(pid string, now time.Time) (parked, bool) {
	if r == nil || pid == "" {
		return parked{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parked[pid]
	delete(r.parked, pid)
	if !ok || now.Sub(p.at) > r.window {
		return parked{}, false
	}
	return p, true
}

func newPID() string { return transport.NewID() }
