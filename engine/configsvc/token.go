package configsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ClientCredentials returns a Token func for the OAuth2 client-credentials grant against tokenURL
// (e.g. <oidc-base>/realms/core/protocol/openid-connect/token). It POSTs
// grant_type=client_credentials with client_id and client_secret as a form, and caches the
// access token until shortly before expires_in (30 s early, or half the lifetime when that is
// under a minute; 60 s when expires_in is absent). Concurrent callers share one token request.
// hc nil = http.DefaultClient.
func ClientCredentials(tokenURL, clientID, clientSecret string, hc *http.Client) func(ctx context.Context) (string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	ts := &tokenSource{url: tokenURL, id: clientID, secret: clientSecret, hc: hc, lock: make(chan struct{}, 1)}
	return ts.token
}

type tokenSource struct {
	url, id, secret string
	hc              *http.Client

	lock    chan struct{} // 1-slot semaphore guarding tok/expires and the refresh
	tok     string
	expires time.Time
}

func (ts *tokenSource) token(ctx context.Context) (string, error) {
	select {
	case ts.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-ts.lock }()
	if ts.tok != "" && time.Now().Before(ts.expires) {
		return ts.tok, nil
	}
	tok, lifetime, err := ts.request(ctx)
	if err != nil {
		return "", err
	}
	margin := 30 * time.Second
	if lifetime < 2*margin {
		margin = lifetime / 2
	}
	ts.tok, ts.expires = tok, time.Now().Add(lifetime-margin)
	return tok, nil
}

func (ts *tokenSource) request(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {ts.id},
		"client_secret": {ts.secret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("token response: %w", err)
	}
	var v struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
		Error       string  `json:"error"`
	}
	_ = json.Unmarshal(body, &v)
	if resp.StatusCode != http.StatusOK {
		if v.Error != "" {
			return "", 0, fmt.Errorf("token endpoint: status %d: %s", resp.StatusCode, v.Error)
		}
		return "", 0, fmt.Errorf("token endpoint: status %d", resp.StatusCode)
	}
	if v.AccessToken == "" {
		return "", 0, errors.New("token endpoint: no access_token in response")
	}
	lifetime := time.Duration(v.ExpiresIn * float64(time.Second))
	if lifetime <= 0 {
		lifetime = 60 * time.Second
	}
	return v.AccessToken, lifetime, nil
}
