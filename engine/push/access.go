package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/tenant"
)

// Deps are what the push layer needs from the rest of the engine.
type Deps struct {
	Hub *hub.Hub
	// Tenants resolves tenant references (slug, name, bare id or URN).
	Tenants interface {
		ResolveTenant(ref string) (tenant.Tenant, bool)
	}
	// Verify checks a token; it never returns a nil principal without an error.
	Verify func(ctx context.Context, token string) (*auth.Principal, error)
	// Now is the clock (tests). Zero means time.Now.
	Now func() time.Time
	// Stats, when set, counts outcomes.
	Stats *Stats
	// Recovery is the Socket.IO connection state recovery window (0 = off). With it on, every
	// stream event carries its id as a final offset argument (hub.Config.Offsets).
	Recovery time.Duration

	initOnce sync.Once
	rec      *recovery
}

func (d *Deps) recovery() *recovery {
	d.initOnce.Do(func() { d.rec = newRecovery(d.Recovery) })
	return d.rec
}

// Failure is a refused subscription: an error code of contract.md and the message shown to
// the client (ADSP wording where the original had one).
type Failure struct {
	Code    string // unauthorized | forbidden | not_found | bad_request | unavailable
	Message string
}

func (f *Failure) Error() string { return f.Message }

// HTTPStatus maps the code to the SSE/REST status.
func (f *Failure) HTTPStatus() int {
	switch f.Code {
	case "unauthorized":
		return 401
	case "forbidden":
		return 403
	case "not_found":
		return 404
	case "unavailable":
		return 503
	default:
		return 400
	}
}

// request is what a subscriber asked for, from whichever transport.
type request struct {
	token     string
	hasToken  bool
	tenantRef string // "" = none given
	defaultNS bool   // Socket.IO default namespace: a token is required
	streamID  string
	criteria  []byte
}

// grant is an accepted subscription request.
type grant struct {
	principal *auth.Principal
	stream    *stream.Stream
	criteria  *stream.Criteria
}

// authorize runs the checks shared by Socket.IO and SSE, in the original's order: token, tenant,
// stream, criteria, permission.
func (d *Deps) authorize(ctx context.Context, r request) (*grant, *Failure) {
	p := auth.AnonymousPrincipal
	if r.hasToken {
		if r.token == "" {
			return nil, &Failure{"unauthorized", "User not authorized to connect."}
		}
		var err error
		p, err = d.Verify(ctx, r.token)
		if err != nil {
			var ae *auth.Error
			if errors.As(err, &ae) && ae.Reason == auth.ReasonKeysUnavailable {
				return nil, &Failure{"unavailable", "Token keys are unavailable; try again."}
			}
			return nil, &Failure{"unauthorized", "User not authorized to connect."}
		}
	}
	if r.defaultNS && p.Anonymous {
		return nil, &Failure{"unauthorized", "User not authorized to connect."}
	}
	scope := ""
	switch {
	case r.tenantRef != "":
		t, ok := d.Tenants.ResolveTenant(r.tenantRef)
		if !ok {
			return nil, &Failure{"not_found", fmt.Sprintf("Tenant '%s' could not be found.", r.tenantRef)}
		}
		scope = t.ID
	case p.Core:
		scope = "" // cross-tenant: core streams, events of every tenant
	case p.TenantID != "":
		scope = p.TenantID
	default:
		return nil, &Failure{"bad_request", "No tenant specified for request."}
	}
	id := r.streamID
	if id == "" {
		id = "undefined"
	}
	s, ok := d.Hub.Registry().Lookup(scope, id)
	if !ok || id == "webhooks" {
		return nil, &Failure{"not_found", fmt.Sprintf("stream with ID '%s' could not be found.", id)}
	}
	var crit *stream.Criteria
	if len(r.criteria) > 0 {
		c, err := stream.ParseCriteria(r.criteria)
		if err != nil {
			return nil, &Failure{"bad_request", "Invalid criteria: " + strings.TrimPrefix(err.Error(), "stream: ")}
		}
		crit = c
	}
	if !s.CanSubscribe(p) {
		if p.Anonymous {
			return nil, &Failure{"unauthorized", "User not authorized to connect."}
		}
		return nil, &Failure{"forbidden", fmt.Sprintf("User %s (ID: %s) not permitted to connect stream.", p.Name, p.Subject)}
	}
	return &grant{principal: p, stream: s, criteria: crit}, nil
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	const p = "bearer "
	if len(h) >= len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):]), true
	}
	return "", true // present but not a bearer token: rejected, never anonymous
}

// CloseEvent is the Socket.IO event that tells a client why the server is about to close its
// transport (SSE: "event: close"), with closeJSON as its argument (contract.md "Errors and
// closes").
const CloseEvent = "pushgate:close"

// closeJSON is the argument of CloseEvent and the data of SSE "event: close".
func closeJSON(reason conn.CloseReason) []byte {
	return []byte(`{"reason":"` + string(reason) + `"}`)
}

// queuedOf returns the queued-bytes reader of l, when its connection reports one.
func queuedOf(l conn.Link) func() int {
	if q, ok := l.(interface{ QueuedBytes() int }); ok {
		return q.QueuedBytes
	}
	return nil
}
