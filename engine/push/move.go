package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/transport"
)

// A Socket.IO subscriber moves with its Engine.IO session (transport.Mover; engine/cluster
// "Many instances"): the old owner stops its subscription and hands over the principal its
// token proved, the stream and the criteria; the new owner checks them again against its own
// registry (the stream still exists, the principal may still subscribe, the token has not
// expired) and subscribes after the socket's position, so the events the old owner had not
// queued are replayed from the history (or re-read from Kafka) and none twice.

// movedSocket is a member's state on the wire between instances (the link is authenticated
// with --cluster-secret, so the principal is taken as proved).
type movedSocket struct {
	Principal *auth.Principal `json:"principal"`
	Scope     string          `json:"scope,omitempty"`
	StreamID  string          `json:"stream"`
	Criteria  json.RawMessage `json:"criteria,omitempty"`
	// Start is where the subscription started (hub.Subscription.StartID): the resume point
	// when nothing was delivered yet.
	Start string `json:"start,omitempty"`
}

// Export implements transport.Mover.
func (n *namespace) Export(k *transport.Socket) ([]byte, error) {
	m, _ := k.Data.(*member)
	if m == nil {
		return nil, errors.New("push: socket without a subscription")
	}
	n.d.Hub.Unsubscribe(m.sub)
	m.mu.Lock()
	m.left = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
	st := movedSocket{Principal: m.sub.Principal, Scope: m.sub.Scope, StreamID: m.sub.StreamID, Start: m.sub.StartID}
	if len(m.criteria) > 0 {
		st.Criteria = json.RawMessage(m.criteria)
	}
	return json.Marshal(st)
}

// catchUpWait bounds how long an adopted socket waits for this instance to have read the event
// the old owner delivered last (both read the same topic; this one may be a little behind).
const catchUpWait = time.Second

// Import implements transport.Mover.
func (n *namespace) Import(k *transport.Socket, state []byte, position string) error {
	var st movedSocket
	if err := json.Unmarshal(state, &st); err != nil || st.Principal == nil {
		return fmt.Errorf("push: malformed moved socket: %v", err)
	}
	p := st.Principal
	if !p.Expires.IsZero() && !n.d.now().Before(p.Expires) {
		return errors.New("push: moved socket's token expired")
	}
	if n.defaultNS && p.Anonymous {
		return errors.New("push: anonymous socket on the default namespace")
	}
	if n.tenantRef != "" {
		t, ok := n.d.Tenants.ResolveTenant(n.tenantRef)
		if !ok || t.ID != st.Scope {
			return fmt.Errorf("push: tenant %s unknown here", n.tenantRef)
		}
	}
	s, ok := n.d.Hub.Registry().Lookup(st.Scope, st.StreamID)
	if !ok || !s.CanSubscribe(p) {
		return fmt.Errorf("push: stream %s missing or not permitted here", st.StreamID)
	}
	var crit *stream.Criteria
	if len(st.Criteria) > 0 {
		c, err := stream.ParseCriteria(st.Criteria)
		if err != nil {
			return fmt.Errorf("push: moved criteria: %w", err)
		}
		crit = c
	}
	m := &member{k: k, d: n.d, exp: p.Expires, criteria: st.Criteria}
	m.sub = &hub.Subscription{Stream: s.Key(), StreamID: s.ID, Scope: st.Scope, Criteria: crit, Principal: p, Sink: m}
	k.Data = m
	from := position
	if from == "" {
		from = st.Start
	} else {
		for deadline := time.Now().Add(catchUpWait); !n.d.Hub.Seen(from) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	n.d.Hub.Subscribe(m.sub, from, nil)
	m.armExpiry()
	return nil
}

var _ transport.Mover = (*namespace)(nil)
