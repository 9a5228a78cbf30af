package store

import "errors"

var (
	// ErrNotFound reports an unknown tenant.
	ErrNotFound = errors.New("store: tenant not found")
	// ErrNoConfig reports that a known tenant (or the core) has no configuration document yet.
	ErrNoConfig = errors.New("store: no configuration document")
	// ErrConflict reports a tenant name (or realm) that is already taken.
	ErrConflict = errors.New("store: tenant already exists")
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrReplication reports that Options.Replicate refused a change (HTTP 503); nothing was stored.
	ErrReplication = errors.New("store: replication failed")
)

// ValidationError reports input the store refuses: a malformed PATCH body, an unknown operation, an
// invalid tenant name, or a document the schema validator rejects. Reason is safe to show to callers.
type ValidationError struct {
	Reason string
}

func (e *ValidationError) Error() string { return "store: invalid: " + e.Reason }

func invalid(reason string) error { return &ValidationError{Reason: reason} }
