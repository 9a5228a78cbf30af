package auth

import "errors"

// Reasons a token is rejected; Error.Reason holds one of them. They are stable strings, fit for
// metric labels (pushgate_auth_failures_total{reason}).
const (
	ReasonMalformed        = "malformed"         // not a JWT, too large, bad or non-canonical encoding, missing exp or kid
	ReasonUnsupportedAlg   = "unsupported-alg"   // alg other than RS256/ES256 (none, HS256, …)
	ReasonUnknownIssuer    = "unknown-issuer"    // iss missing, not <IssuerBase>/realms/<realm>, or unknown realm
	ReasonUnknownKID       = "unknown-kid"       // no key with the token's kid, even after a refresh
	ReasonInvalidSignature = "invalid-signature" // signature does not verify
	ReasonExpired          = "expired"           // exp in the past (beyond the leeway)
	ReasonNotYetValid      = "not-yet-valid"     // nbf/iat in the future (beyond the leeway)
	ReasonBadAudience      = "bad-audience"      // aud missing or without Audience
	ReasonKeysUnavailable  = "keys-unavailable"  // discovery or JWKS could not be fetched
	ReasonClosed           = "closed"            // the Verifier was closed
	ReasonRevoked          = "revoked"           // the token (its jti, or its subject before a time) was revoked
)

// ErrUnauthorized is wrapped by every *Error, so errors.Is(err, ErrUnauthorized) tells token
// failures from other errors.
var ErrUnauthorized = errors.New("auth: token rejected")

// Error is a rejected token. It never contains the token text.
type Error struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "auth: token rejected (" + e.Reason + "): " + e.Err.Error()
	}
	return "auth: token rejected (" + e.Reason + ")"
}

// Unwrap returns the cause and ErrUnauthorized.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrUnauthorized, e.Err}
	}
	return []error{ErrUnauthorized}
}

func reject(reason string, err error) *Error {
	return &Error{Reason: reason, Err: err}
}

// ReasonOf returns the Reason of an *Error in err's chain, or "" if there is none.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
