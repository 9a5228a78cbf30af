package api

import "github.com/pushgate/pushgate/engine/devissuer"

// The development issuer is what the engine passes as Deps.Issuer.
var _ Issuer = (*devissuer.Issuer)(nil)
