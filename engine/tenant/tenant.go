package tenant

import (
	"regexp"
	"strings"
)

// URNPrefix prefixes the 24-hex tenant id in a tenant URN.
const URNPrefix = "urn:ads:platform:tenant-service:v2:/tenants/"

// CoreRealm is the realm of core (platform) users; no tenant may use it.
const CoreRealm = "core"

// Tenant is one tenant. ID is the URN, Realm the slug (lower-case name, spaces as '-').
type Tenant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Realm string `json:"realm"`
}

var bareIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// ValidBareID reports whether id is a bare tenant id (24 lower-case hex digits).
func ValidBareID(id string) bool { return bareIDPattern.MatchString(id) }

// RealmOf returns the realm (and namespace slug) of a tenant name: lower case, spaces as '-'.
func RealmOf(name string) string { return strings.ReplaceAll(strings.ToLower(name), " ", "-") }

// FoldName is the key for case-insensitive name and slug lookups.
func FoldName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", " ")) }

// BareID is the 24-hex id of a tenant URN.
func BareID(urn string) string { return strings.TrimPrefix(urn, URNPrefix) }
