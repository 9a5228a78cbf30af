package adsp

// Settings are the operator's ADSP platform settings (contract.md "ADSP platform mode"). Each
// service URL moves that concern to ADSP: the directory all three, a per-service URL only its own.
type Settings struct {
	// DirectoryURL is the directory service (--directory-url, DIRECTORY_URL).
	DirectoryURL string
	// TenantServiceURL and EventServiceURL are API URLs as the directory lists them
	// (e.g. http://tenant-service/api/tenant/v2, http://event-service/event/v1); each pins its URN.
	TenantServiceURL string
	EventServiceURL  string
	// ClientID and ClientSecret are the service account for every ADSP call (the token comes from
	// the core realm of --oidc-base). An empty secret sends no token.
	ClientID     string
	ClientSecret string
}

// Pinned returns the URNs the per-service URLs pin.
func (s Settings) Pinned() map[string]string {
	m := map[string]string{}
	if s.TenantServiceURL != "" {
		m[TenantServiceAPI] = s.TenantServiceURL
	}
	if s.EventServiceURL != "" {
		m[EventServiceAPI] = s.EventServiceURL
	}
	return m
}

// Enabled reports whether any ADSP service is configured.
func (s Settings) Enabled() bool {
	return s.DirectoryURL != "" || s.TenantServiceURL != "" || s.EventServiceURL != ""
}
