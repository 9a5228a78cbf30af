package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

const (
	maxDocumentBytes = 1 << 20
	fetchTimeout     = 2 * time.Second
	minRSABits       = 2048
)

// realmKeys caches one realm's signing keys. All fetches (discovery + JWKS) of a realm are
// single-flighted and at most one starts per refresh interval, whatever triggers it (first use,
// unknown kid, stale keys), so hostile tokens cannot make the verifier hammer the identity provider.
type realmKeys struct {
	v   *Verifier
	iss string

	mu          sync.Mutex
	kf          keyfunc.Keyfunc // nil until the first successful fetch
	store       jwkset.Storage
	jwksURI     string
	loadedAt    time.Time
	lastAttempt time.Time
	lastErr     error
	inflight    chan struct{} // closed when the running fetch ends
}

// keyfunc returns the verification key for token (kid and alg taken from the header, already
// checked against the pinned algorithms by the parser).
// The key set the key came from is stored in *used (the token cache ties its entry to it).
func (rk *realmKeys) keyfunc(ctx context.Context, token *jwt.Token, used *jwkset.Storage) (any, error) {
	kid, _ := token.Header["kid"].(string)
	waited := false
	for {
		rk.mu.Lock()
		kf, store := rk.kf, rk.store
		known := kf != nil && (kid == "" || hasKey(ctx, store, kid))
		fresh := kf != nil && rk.v.now().Sub(rk.loadedAt) < rk.v.cfg.JWKSMaxAge
		if known && (fresh || waited) {
			rk.mu.Unlock()
			*used = store
			return rk.key(ctx, kf, token)
		}
		if ch := rk.inflight; ch != nil {
			rk.mu.Unlock()
			select {
			case <-ch:
				waited = true
				continue
			case <-ctx.Done():
				return nil, reject(ReasonKeysUnavailable, ctx.Err())
			}
		}
		if waited || (!rk.lastAttempt.IsZero() && rk.v.now().Sub(rk.lastAttempt) < rk.v.cfg.JWKSRefreshMinInterval) {
			lastErr := rk.lastErr
			rk.mu.Unlock()
			switch {
			case known: // stale keys are still served when a refresh is not allowed or failed
				*used = store
				return rk.key(ctx, kf, token)
			case kf == nil:
				return nil, reject(ReasonKeysUnavailable, lastErr)
			default:
				return nil, reject(ReasonUnknownKID, nil)
			}
		}
		ch := make(chan struct{})
		rk.inflight = ch
		rk.lastAttempt = rk.v.now()
		rk.mu.Unlock()

		store, uri, err := rk.fetch()
		rk.v.Stats.Refreshes.Add(1)
		if err != nil {
			rk.v.Stats.RefreshErrors.Add(1)
		}

		rk.mu.Lock()
		rk.lastErr = err
		if err == nil {
			rk.kf, rk.store, rk.jwksURI = newKeyfunc(store), store, uri
			rk.loadedAt = rk.v.now()
		}
		rk.inflight = nil
		close(ch)
		rk.mu.Unlock()
		waited = true
	}
}

func (rk *realmKeys) key(ctx context.Context, kf keyfunc.Keyfunc, token *jwt.Token) (any, error) {
	k, err := kf.KeyfuncCtx(ctx)(token)
	if err != nil {
		return nil, reject(ReasonInvalidSignature, err)
	}
	return k, nil
}

func hasKey(ctx context.Context, store jwkset.Storage, kid string) bool {
	_, err := store.KeyRead(ctx, kid)
	return err == nil
}

func newKeyfunc(store jwkset.Storage) keyfunc.Keyfunc {
	kf, err := keyfunc.New(keyfunc.Options{Storage: store})
	if err != nil { // only when store is nil, which fetch never returns
		panic(err)
	}
	return kf
}

// fetch runs discovery (once per realm; again if the JWKS fetch fails) and loads the JWKS.
func (rk *realmKeys) fetch() (jwkset.Storage, string, error) {
	ctx, cancel := context.WithTimeout(rk.v.ctx, fetchTimeout)
	defer cancel()
	rk.mu.Lock()
	uri := rk.jwksURI
	rk.mu.Unlock()
	if uri != "" {
		if store, err := rk.fetchJWKS(ctx, uri); err == nil {
			return store, uri, nil
		}
	}
	uri, err := rk.discover(ctx)
	if err != nil {
		return nil, "", err
	}
	store, err := rk.fetchJWKS(ctx, uri)
	if err != nil {
		return nil, "", err
	}
	return store, uri, nil
}

func (rk *realmKeys) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := rk.v.getJSON(ctx, rk.iss+"/.well-known/openid-configuration", &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != rk.iss {
		return "", fmt.Errorf("discovery: issuer %q does not match %q", doc.Issuer, rk.iss)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("discovery: invalid jwks_uri %q", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

// fetchJWKS loads the signature keys of a JWKS: RSA (≥ 2048 bits) and EC keys whose use is "sig"
// or absent; other keys (encryption keys, symmetric keys, weak or malformed keys) are skipped.
func (rk *realmKeys) fetchJWKS(ctx context.Context, uri string) (jwkset.Storage, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := rk.v.getJSON(ctx, uri, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	store := jwkset.NewMemoryStorage()
	n := 0
	for _, raw := range set.Keys {
		var m jwkset.JWKMarshal
		if json.Unmarshal(raw, &m) != nil || m.KID == "" || (m.USE != "" && m.USE != jwkset.UseSig) {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue
		}
		switch k := jwk.Key().(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < minRSABits {
				continue
			}
		case *ecdsa.PublicKey:
		default:
			continue
		}
		if store.KeyWrite(ctx, jwk) == nil {
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("jwks: no usable signature keys")
	}
	return store, nil
}

// getJSON GETs u and decodes a JSON body of at most maxDocumentBytes.
func (v *Verifier) getJSON(ctx context.Context, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", u, err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("read %s: body larger than %d bytes", u, maxDocumentBytes)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}
