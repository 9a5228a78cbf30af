package adsp

import "net/url"

// Settings are the operator's ADSP platform settings (contract.md "ADSP platform mode"). Each
// service URL moves that concern to ADSP: the directory all three, a per-service URL only its own.
type Settings struct {
	// DirectoryURL is the directory service (--directory-url, DIRECTORY_URL).
	DirectoryURL string
	// TenantServiceURL and EventServiceURL are API URLs as the directory lists them
	// (e.g. http://tenant-management-api:3333/api/tenant/v2, http://event-service:3334/event/v1);
	// each pins its URN. A URL without a path is the service's root: the API path is added
	// (directory.platform.json of the ADSP repository lists both forms).
	TenantServiceURL string
	EventServiceURL  string
	// ClientID and ClientSecret are the service account for every ADSP call (the token comes from
	// the core realm of --oidc-base). An empty secret sends no token.
	ClientID     string
	ClientSecret string
}

// API paths under a service's root (apps/tenant-management-api/src/tenant/index.ts mounts
// /api/tenant/v2; the event service serves /event/v1).
const (
	tenantAPIPath = "/api/tenant/v2"
	eventAPIPath  = "/event/v1"
)

// Pinned returns the URNs the per-service URLs pin.
func (s Settings) Pinned() map[string]string {
	m := map[string]string{}
	if s.TenantServiceURL != "" {
		m[TenantServiceAPI] = apiURL(s.TenantServiceURL, tenantAPIPath)
	}
	if s.EventServiceURL != "" {
		m[EventServiceAPI] = apiURL(s.EventServiceURL, eventAPIPath)
	}
	return m
}

// apiURL adds path to a URL that has none (a service root).
func apiURL(raw, path string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return raw // as given (NewDirectory reports a malformed one)
	}
	u.Path = path
	return u.String()
}

// Enabled reports whether any ADSP service is configured.
func (s Settings) Enabled() bool {
	return s.DirectoryURL != "" || s.TenantServiceURL != "" || s.EventServiceURL != ""
}
