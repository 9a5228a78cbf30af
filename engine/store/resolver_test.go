package store

import "github.com/pushgate/pushgate/engine/auth"

// The store is the verifier's tenant resolver in embedded mode.
var _ auth.TenantResolver = (*Store)(nil)
