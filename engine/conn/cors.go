package conn

import "slices"

// CORS is the cross-origin policy for HTTP responses.
type CORS struct {
	// AllowAll reflects any Origin (development mode).
	AllowAll bool
	// Origins are the allowed origins (exact match, e.g. "https://app.example").
	Origins []string
	// Reflect allows any Origin as ADSP's push-service does, but without credentials
	// (no Access-Control-Allow-Credentials): browsers then never send cookies or read answers to
	// credentialed requests, so only bearer-token (and anonymous) access works cross-origin.
	Reflect bool
}

// Allowed reports whether origin may read responses.
func (c CORS) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	return c.AllowAll || c.Reflect || slices.Contains(c.Origins, origin)
}

// Headers returns the CORS headers for a response to a request from origin (credentials are
// allowed, so the origin is reflected, never "*"; with Reflect credentials are not allowed).
func (c CORS) Headers(origin string) []Header {
	if !c.Allowed(origin) {
		return nil
	}
	if c.Reflect && !c.AllowAll && !slices.Contains(c.Origins, origin) {
		return []Header{{"Access-Control-Allow-Origin", origin}, {"Vary", "Origin"}}
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
		h[len(h)-1].Value = "Origin, Access-Control-Request-Headers" // Vary is last in Headers
		h = append(h, Header{"Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"})
		if r.ACRHeaders != "" {
			h = append(h, Header{"Access-Control-Allow-Headers", r.ACRHeaders})
		}
	}
	l.Respond(&Response{Status: 204, Header: h})
}
