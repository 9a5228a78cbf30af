package console

import (
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/devissuer"
)

type mintRequest struct {
	Tenant     string   `json:"tenant"`
	Core       bool     `json:"core"`
	Roles      []string `json:"roles"`
	TTLSeconds int      `json:"ttlSeconds"`
	Name       string   `json:"name"`
}

type mintResponse struct {
	Token     string `json:"token"`
	Realm     string `json:"realm"`
	ExpiresAt int64  `json:"expiresAt"`
}

const (
	defaultTTL = time.Hour
	maxTTL     = 24 * time.Hour
	maxRoles   = 32
)

// mintHandler signs a development token exactly as `pushgate token` does (devissuer.Mint), for
// the console's "sign in" in development mode.
func mintHandler(iss *devissuer.Issuer, tenants Tenants, hosts *hostGuard) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !fromLoopback(ctx) {
			fail(ctx, fasthttp.StatusForbidden, "Development tokens are minted for loopback clients only; use pushgate token.")
			return
		}
		if !hosts.allow(ctx) {
			return
		}
		var in mintRequest
		if !decodeBody(ctx, &in) {
			return
		}
		if in.Core == (strings.TrimSpace(in.Tenant) != "") {
			fail(ctx, fasthttp.StatusBadRequest, "Give exactly one of tenant or core.")
			return
		}
		if len(in.Roles) > maxRoles {
			fail(ctx, fasthttp.StatusBadRequest, "Too many roles.")
			return
		}
		ttl := time.Duration(in.TTLSeconds) * time.Second
		switch {
		case in.TTLSeconds == 0:
			ttl = defaultTTL
		case ttl < time.Second || ttl > maxTTL:
			fail(ctx, fasthttp.StatusBadRequest, "ttlSeconds must be between 1 and 86400.")
			return
		}
		realm := "core"
		if !in.Core {
			t, ok := tenants.ResolveTenant(strings.TrimSpace(in.Tenant))
			if !ok {
				fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
				return
			}
			realm = t.Realm
			if realm == "" {
				realm = devissuer.RealmForTenantName(t.Name)
			}
		}
		var roles []string
		for _, r := range in.Roles {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, r)
			}
		}
		name := strings.TrimSpace(in.Name)
		if name == "" {
			name = "console"
		}
		if len(name) > 100 {
			fail(ctx, fasthttp.StatusBadRequest, "name is longer than 100 characters.")
			return
		}
		tok, err := iss.Mint(devissuer.Claims{Realm: realm, Roles: roles, Name: name, TTL: ttl})
		if err != nil {
			fail(ctx, fasthttp.StatusInternalServerError, "Failed to mint a token.")
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, mintResponse{Token: tok, Realm: realm, ExpiresAt: time.Now().Add(ttl).Unix()})
	}
}

// fromLoopback reports whether the request comes from this machine: a loopback TCP peer, or the
// --workers parent's Unix socket, whose proxy names the client in X-Forwarded-For.
func fromLoopback(ctx *fasthttp.RequestCtx) bool {
	addr := ctx.RemoteAddr()
	if addr != nil && addr.Network() == "unix" {
		ip := net.ParseIP(strings.TrimSpace(string(ctx.Request.Header.Peek("X-Forwarded-For"))))
		return ip != nil && ip.IsLoopback()
	}
	return ctx.RemoteIP().IsLoopback()
}
