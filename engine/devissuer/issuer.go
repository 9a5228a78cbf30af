package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// File names in the data directory.
const (
	KeyFile    = "dev-signing-key.pem"
	IssuerFile = "dev-issuer.json"
)

// Audience is the push-service client id every minted token carries in "aud" (same value as
// auth.Audience; this package does not import engine/auth).
const Audience = "urn:ads:platform:push-service"

// DefaultTTL is the lifetime of a token minted with a zero Claims.TTL.
const DefaultTTL = time.Hour

const rsaBits = 2048

// Issuer mints development tokens signed with the key kept in the data directory. It is immutable
// and safe for concurrent use.
type Issuer struct {
	issuerBase string
	kid        string
	key        *rsa.PrivateKey
}

type issuerFile struct {
	IssuerBase string `json:"issuerBase"`
	KID        string `json:"kid"`
	// KeyFile is the key's path when it is not <dataDir>/dev-signing-key.pem (--dev-signing-key).
	KeyFile string `json:"keyFile,omitempty"`
}

// Open prepares the development issuer for a server: it creates dataDir (0700) if needed, creates
// <dataDir>/dev-signing-key.pem (RSA 2048, PKCS#8 PEM, mode 0600) on first start and reuses it
// afterwards, and (re)writes <dataDir>/dev-issuer.json with issuerBase and the key id. issuerBase
// is e.g. "http://127.0.0.1:8080/auth" (a trailing "/" is removed).
func Open(dataDir, issuerBase string) (*Issuer, error) {
	return OpenShared(dataDir, issuerBase, "")
}

// OpenShared is Open with the signing key kept in keyFile (empty: <dataDir>/dev-signing-key.pem),
// e.g. one file every instance of a fleet reads (a Kubernetes Secret, a shared volume), so a token
// minted against one instance is accepted by all. A missing keyFile is created without ever
// replacing one another instance created at the same moment (link, not rename), so instances
// started together still end up with one key.
func OpenShared(dataDir, issuerBase, keyFile string) (*Issuer, error) {
	issuerBase = strings.TrimRight(issuerBase, "/")
	if issuerBase == "" {
		return nil, errors.New("devissuer: issuer base is required")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devissuer: create data dir: %w", err)
	}
	keyPath := filepath.Join(dataDir, KeyFile)
	if keyFile != "" {
		keyPath = keyFile
	}
	key, err := readKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key, err = createKey(keyPath)
		if errors.Is(err, fs.ErrExist) { // another instance created it first: use theirs
			key, err = readKey(keyPath)
		}
	case err == nil && keyFile != "":
		// a shared file is the operator's (often a read-only Secret mount): never chmod it
	case err == nil:
		if cerr := os.Chmod(keyPath, 0o600); cerr != nil { // keep the key private
			err = fmt.Errorf("devissuer: %w", cerr)
		}
	}
	if err != nil {
		return nil, err
	}
	iss := &Issuer{issuerBase: issuerBase, kid: keyID(&key.PublicKey), key: key}
	b, err := json.MarshalIndent(issuerFile{IssuerBase: issuerBase, KID: iss.kid, KeyFile: keyFile}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("devissuer: encode issuer file: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dataDir, IssuerFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return iss, nil
}

// Load reads the issuer written by a server's Open (for the `pushgate token` command). It only
// reads the two files; it never creates a key or opens the store.
func Load(dataDir string) (*Issuer, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, IssuerFile))
	if err != nil {
		return nil, fmt.Errorf("devissuer: read issuer file (has the server run with this data dir?): %w", err)
	}
	var f issuerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("devissuer: decode %s: %w", IssuerFile, err)
	}
	if f.IssuerBase == "" {
		return nil, fmt.Errorf("devissuer: %s has no issuerBase", IssuerFile)
	}
	keyPath := filepath.Join(dataDir, KeyFile)
	if f.KeyFile != "" {
		keyPath = f.KeyFile
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{issuerBase: f.IssuerBase, kid: keyID(&key.PublicKey), key: key}
	if f.KID != "" && f.KID != iss.kid {
		return nil, fmt.Errorf("devissuer: %s kid %q does not match %s", IssuerFile, f.KID, KeyFile)
	}
	return iss, nil
}

// IssuerBase returns the issuer base, e.g. "http://127.0.0.1:8080/auth".
func (i *Issuer) IssuerBase() string { return i.issuerBase }

// KID returns the key id of the signing key.
func (i *Issuer) KID() string { return i.kid }

// Issuer returns the issuer of realm: <issuerBase>/realms/<realm>.
func (i *Issuer) Issuer(realm string) string { return i.issuerBase + "/realms/" + realm }

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("devissuer: read key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("devissuer: %s is not a PKCS#8 PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devissuer: parse key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("devissuer: %s is not an RSA key", path)
	}
	return rk, nil
}

func createKey(path string) (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("devissuer: encode key: %w", err)
	}
	if err := writeFileExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// writeFileExclusive writes a complete file at path unless one exists (then an error wrapping
// fs.ErrExist): written aside and hard-linked into place, so a reader never sees half a key and
// two instances creating the key at once keep the first one.
func writeFileExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("devissuer: create %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes via a temporary file in the same directory and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devissuer: write %s: %w", path, err)
	}
	return nil
}

// keyID is base64url(SHA-256(PKIX DER of the public key)), truncated to 16 bytes.
func keyID(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot happen for a valid RSA key
		panic(err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Claims describe a development token.
type Claims struct {
	// Realm is "core" or a tenant realm (see RealmForTenantName).
	Realm string
	// Roles are realm roles ("stream-listener") or client roles ("<client>:<role>", split at the
	// last ':').
	Roles []string
	// Subject is "sub"; empty means a random hex id.
	Subject string
	// Name goes to "name" and "preferred_username"; empty means preferred_username = Subject.
	Name string
	// TTL is the lifetime; zero means DefaultTTL, negative gives an already expired token.
	TTL time.Duration
}

// Mint returns a signed RS256 token (header kid = KID()) for c, shaped like a Keycloak access token.
func (i *Issuer) Mint(c Claims) (string, error) {
	if c.Realm == "" {
		return "", errors.New("devissuer: realm is required")
	}
	sub := c.Subject
	if sub == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("devissuer: random subject: %w", err)
		}
		sub = hex.EncodeToString(b[:])
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var realmRoles []string
	clientRoles := map[string][]string{}
	aud := []string{Audience}
	for _, r := range c.Roles {
		if r == "" {
			continue
		}
		k := strings.LastIndexByte(r, ':')
		if k < 0 {
			realmRoles = appendUnique(realmRoles, r)
			continue
		}
		client, role := r[:k], r[k+1:]
		clientRoles[client] = appendUnique(clientRoles[client], role)
		aud = appendUnique(aud, client)
	}
	now := time.Now()
	var jti [8]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("devissuer: random jti: %w", err)
	}
	mc := jwt.MapClaims{
		"iss":                i.Issuer(c.Realm),
		"sub":                sub,
		"aud":                aud,
		"azp":                "pushgate-dev",
		"typ":                "Bearer",
		"jti":                hex.EncodeToString(jti[:]),
		"iat":                now.Unix(),
		"exp":                now.Add(ttl).Unix(),
		"preferred_username": sub,
	}
	if c.Name != "" {
		mc["name"] = c.Name
		mc["preferred_username"] = c.Name
	}
	if len(realmRoles) > 0 {
		mc["realm_access"] = map[string]any{"roles": realmRoles}
	}
	if len(clientRoles) > 0 {
		ra := map[string]any{}
		for client, roles := range clientRoles {
			ra[client] = map[string]any{"roles": roles}
		}
		mc["resource_access"] = ra
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("devissuer: sign: %w", err)
	}
	return s, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// DiscoveryJSON returns the OIDC discovery document of realm: issuer, jwks_uri
// (<issuerBase>/realms/<realm>/protocol/openid-connect/certs) and the signing algorithms.
func (i *Issuer) DiscoveryJSON(realm string) []byte {
	iss := i.Issuer(realm)
	b, _ := json.Marshal(struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}{iss, iss + "/protocol/openid-connect/certs", []string{"RS256"}})
	return b
}

// JWKSJSON returns the JWKS holding the public signing key (kty RSA, kid, alg RS256, use sig).
func (i *Issuer) JWKSJSON() []byte {
	pub := &i.key.PublicKey
	type jwk struct {
		KTY string `json:"kty"`
		KID string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	b, _ := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{
		KTY: "RSA", KID: i.kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

// RealmForTenantName returns the realm (and namespace slug) of a tenant name: lower case, spaces
// as "-" ("My Tenant" → "my-tenant").
func RealmForTenantName(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", "-")
}
