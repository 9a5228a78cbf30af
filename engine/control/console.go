package control

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/console"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/store"
)

// ConsoleRoutes returns the web console's routes (engine/console) for api.Deps.Extra, or nil when
// cfg does not enable it. iss is the development issuer (nil in production: no minting); st
// resolves the tenants named in mint requests; g is the registry /metrics serves.
func ConsoleRoutes(cfg *config.Config, iss *devissuer.Issuer, st *store.Store, verify func(context.Context, string) (*auth.Principal, error), g prometheus.Gatherer) []api.Extra {
	if !cfg.ConsoleEnabled() {
		return nil
	}
	d := console.Deps{Verify: verify, Gatherer: g, PublicURL: cfg.PublicURL, Listen: cfg.Listen}
	if iss != nil && st != nil {
		d.Issuer, d.Tenants = iss, st
	}
	return console.Routes(d)
}
