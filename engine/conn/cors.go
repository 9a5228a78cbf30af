package conn

import "slices"

// CORS is the cross-origin policy for HTTP responses.
type CORS struct {
	// AllowAll reflects any Origin (development mode).
	AllowAll bool
	// Origins are the allowed origins (exact match, e.g. "https://app.example").
	Origins []string
}

// Allowed reports whether origin may read responses.
func (c CORS) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	return c.AllowAll || slices.Contains(c.Origins, origin)
}

// Headers returns the CORS headers for a response to a request from origin (credentials are
// allowed, so the origin is reflected, never "*").
func (c CORS) Headers(origin string) []Header {
	if !c.Allowed(origin) {
		return nil
	}
	return []Header{
		{"Access-Control-Allow-Origin", origin},
		{"Access-Control-Allow-Credentials", "true"},
		{"Vary", "Origin"},
	}
}

// Preflight answers an OPTIONS request.
func (c CORS) Preflight(r *Request, l Link) {
	h := c.Headers(r.Origin)
	if h != nil {
		h = append(h, Header{"Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"})
		if r.ACRHeaders != "" {
			h = append(h, Header{"Access-Control-Allow-Headers", r.ACRHeaders})
		}
		h[2].Value = "Origin, Access-Control-Request-Headers"
	}
	l.Respond(&Response{Status: 204, Header: h})
}
