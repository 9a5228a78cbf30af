package operator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
)

// Order kinds.
const (
	KindDisconnect = "disconnect"
	KindRevoke     = "revoke"
)

// MaxTokenLifetime bounds how long a revocation is kept when the operator does not give the
// token's exp: no token this server accepts is expected to live longer.
const MaxTokenLifetime = 24 * time.Hour

// StaleDisconnect is how old a disconnect order may be and still be applied: an instance that
// (re)starts and reads old orders from the config topic does not disconnect anyone with them.
const StaleDisconnect = time.Minute

// AllTenants is the TenantID of a disconnect that names no tenant (a platform-service operator):
// the subject's connections in every tenant.
const AllTenants = "*"

// Order is one operator action, as every process applies it.
type Order struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// TenantID scopes the order: the tenant of the subject (disconnect, revoke by subject), or
	// for a revocation by jti the tenant whose tokens it may match ("" = any, a core operator).
	TenantID     string    `json:"tenantId,omitempty"`
	Subject      string    `json:"sub,omitempty"`
	TokenID      string    `json:"jti,omitempty"`
	IssuedBefore time.Time `json:"issuedBefore,omitzero"`
	Until        time.Time `json:"until,omitzero"`
	// By is the subject of the operator who gave the order (never a token).
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// NewID returns a fresh order id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Encode returns the order's JSON.
func (o *Order) Encode() []byte {
	b, _ := json.Marshal(o) // only strings and times
	return b
}

// Decode parses an order and checks its shape.
func Decode(b []byte) (*Order, error) {
	var o Order
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("operator: order is not valid JSON: %w", err)
	}
	switch {
	case o.ID == "":
		return nil, fmt.Errorf("operator: order without id")
	case o.Kind == KindDisconnect && o.Subject != "":
	case o.Kind == KindRevoke && (o.TokenID != "" || o.Subject != "") && !o.Until.IsZero():
	default:
		return nil, fmt.Errorf("operator: order %s of kind %q is incomplete", o.ID, o.Kind)
	}
	return &o, nil
}

// Revocation is the order as the token verifier keeps it.
func (o *Order) Revocation() auth.Revocation {
	return auth.Revocation{TokenID: o.TokenID, TenantID: o.TenantID, Subject: o.Subject,
		IssuedBefore: o.IssuedBefore, Until: o.Until}
}

// Apply carries out o in this process: a revocation is added to rs (when set) and ends the
// matching subscriptions of h (when set); a disconnect ends the subject's subscriptions unless
// the order is stale. It returns how many subscriptions it ended.
func Apply(o *Order, rs *auth.Revocations, h *hub.Hub, now time.Time) int {
	switch o.Kind {
	case KindRevoke:
		if !now.Before(o.Until) {
			return 0
		}
		if rs != nil {
			rs.Add(o.Revocation())
		}
		if h == nil {
			return 0
		}
		var one auth.Revocations
		one.Add(o.Revocation())
		return h.EndWhere(func(sub *hub.Subscription) bool {
			opened, refreshed := sub.Principals()
			return one.Revoked(opened, now) || one.Revoked(refreshed, now)
		}, conn.ReasonTokenRevoked)
	case KindDisconnect:
		if h == nil || now.Sub(o.At) > StaleDisconnect {
			return 0
		}
		return h.EndWhere(func(sub *hub.Subscription) bool {
			return sub.Principal != nil && sub.Principal.Subject == o.Subject &&
				(o.TenantID == AllTenants || sub.Scope == o.TenantID || sub.Principal.TenantID == o.TenantID)
		}, conn.ReasonDisconnectedByAdmin)
	}
	return 0
}
