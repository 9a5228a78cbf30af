package adsp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultEarlyExpiry is how long before its expiry a service token is replaced (the SDK's
// 60 s dead-band, access/tokenProvider.ts).
const DefaultEarlyExpiry = 60 * time.Second

// ServiceAccountConfig configures a ServiceAccount.
type ServiceAccountConfig struct {
	// TokenURL is the token endpoint, e.g. <oidc-base>/realms/core/protocol/openid-connect/token.
	TokenURL string
	// ClientID and ClientSecret of the service account (one pair for every ADSP call).
	ClientID, ClientSecret string
	// EarlyExpiry: a token is replaced this long before it expires; zero = DefaultEarlyExpiry.
	EarlyExpiry time.Duration
	// HTTPClient for the token endpoint; nil = a client with a 10 s timeout.
	HTTPClient *http.Client
}

// ServiceAccount hands out the service-account access token (client credentials), fetched once
// and reused until EarlyExpiry before it expires; concurrent callers share one request.
type ServiceAccount struct {
	ts oauth2.TokenSource
}

// TokenURL is the core realm's token endpoint under an OIDC base (…/auth).
func TokenURL(oidcBase string) string {
	return strings.TrimRight(oidcBase, "/") + "/realms/core/protocol/openid-connect/token"
}

// NewServiceAccount validates cfg. No request is made until the first Token.
func NewServiceAccount(cfg ServiceAccountConfig) (*ServiceAccount, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("adsp: service account needs a client id and a client secret")
	}
	if err := checkURL(cfg.TokenURL); err != nil {
		return nil, fmt.Errorf("adsp: token URL: %w", err)
	}
	if cfg.EarlyExpiry <= 0 {
		cfg.EarlyExpiry = DefaultEarlyExpiry
	}
	hc := httpClientOrDefault(cfg.HTTPClient)
	cc := &clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
		AuthStyle: oauth2.AuthStyleInParams, // the SDK sends client_id and client_secret in the form
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	// cc.Token asks the endpoint every time; the reuse wrapper adds the cache with the SDK's
	// dead-band (cc.TokenSource's own cache has a fixed 10 s one).
	fresh := tokenFunc(func() (*oauth2.Token, error) { return cc.Token(ctx) })
	return &ServiceAccount{ts: oauth2.ReuseTokenSourceWithExpiry(nil, fresh, cfg.EarlyExpiry)}, nil
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// Token returns a valid access token (the signature of configsvc.Config.Token). The request to
// the token endpoint is bounded by the HTTP client's timeout, not by ctx.
func (s *ServiceAccount) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t, err := s.ts.Token()
	if err != nil {
		return "", fmt.Errorf("service account token: %w", err)
	}
	return t.AccessToken, nil
}
