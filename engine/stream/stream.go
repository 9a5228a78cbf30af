package stream

import (
	"github.com/pushgate/pushgate/engine/auth"
)

// Stream is one stream as visible in one scope: a tenant (TenantID = the tenant URN) or the
// cross-tenant scope (TenantID = ""). Streams are created by Build and are immutable: callers must
// not modify the exported fields or the SubscriberRoles slice (which is shared between scopes).
type Stream struct {
	// ID is the stream id, equal to its key in the configuration document.
	ID string
	// Name and Description are the display strings ("" when the description is absent or null).
	Name, Description string
	// PublicSubscribe lets anyone, anonymous callers included, subscribe in a tenant scope. It is
	// ignored in the cross-tenant scope.
	PublicSubscribe bool
	// SubscriberRoles are the roles (compared literally with resolved token roles) that may
	// subscribe, in addition to auth.RoleStreamListener. Never nil.
	SubscriberRoles []string
	// TenantID is the scope: the tenant URN, or "" for the cross-tenant scope.
	TenantID string

	key string
	def *streamDef
}

// Key identifies the stream in its scope: TenantID + "\x00" + ID. It is the same across registry
// rebuilds as long as the stream exists, so it can key subscriptions and prepared frames.
func (s *Stream) Key() string { return s.key }

// CanSubscribe reports whether p may subscribe to s (ADSP StreamEntity.canSubscribe):
//   - cross-tenant scope: p is a core user holding stream-listener or one of SubscriberRoles
//     (PublicSubscribe is ignored);
//   - tenant scope: PublicSubscribe, or p is a core user or a user of that tenant and holds
//     stream-listener or one of SubscriberRoles.
//
// A nil p is treated as anonymous; anonymous callers only get public tenant streams.
func (s *Stream) CanSubscribe(p *auth.Principal) bool {
	if p == nil {
		p = auth.AnonymousPrincipal
	}
	if s.TenantID == "" {
		return p.Core && !p.Anonymous && s.hasRole(p)
	}
	if s.PublicSubscribe {
		return true
	}
	if p.Anonymous {
		return false
	}
	return (p.Core || p.TenantID == s.TenantID) && s.hasRole(p)
}

func (s *Stream) hasRole(p *auth.Principal) bool {
	return p.HasRole(auth.RoleStreamListener) || p.HasAnyRole(s.SubscriberRoles...)
}

// AppendJSON appends the stream as listed by GET /stream/v1/streams:
// {"id","name","description","publicSubscribe","subscriberRoles","events"}, with description null
// when not configured and events exactly as configured (compacted), map and criteria included.
func (s *Stream) AppendJSON(dst []byte) []byte {
	return append(dst, s.def.json...)
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (s *Stream) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(nil), nil
}

func appendStreamJSON(dst []byte, d *streamDef, events []byte) []byte {
	str := func(dst []byte, v string) []byte {
		b, err := jsonAPI.Marshal(v)
		if err != nil { // unreachable for Go strings; invalid UTF-8 is replaced
			return append(dst, `""`...)
		}
		return append(dst, b...)
	}
	dst = append(dst, `{"id":`...)
	dst = str(dst, d.id)
	dst = append(dst, `,"name":`...)
	dst = str(dst, d.name)
	dst = append(dst, `,"description":`...)
	if d.hasDescription {
		dst = str(dst, d.description)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"publicSubscribe":`...)
	if d.publicSubscribe {
		dst = append(dst, "true"...)
	} else {
		dst = append(dst, "false"...)
	}
	dst = append(dst, `,"subscriberRoles":[`...)
	for i, r := range d.subscriberRoles {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = str(dst, r)
	}
	dst = append(dst, `],"events":`...)
	dst = append(dst, events...)
	return append(dst, '}')
}
