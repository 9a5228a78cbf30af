package configsvc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

type fakeTokenEndpoint struct {
	mu     sync.Mutex
	count  int
	status int
	body   string
	forms  []map[string]string
}

func newTokenEndpoint(t *testing.T, status int, body string) (*fakeTokenEndpoint, string) {
	t.Helper()
	f := &fakeTokenEndpoint{status: status, body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("token request %s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
		}
		if err := req.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		form := map[string]string{}
		for k := range req.PostForm {
			form[k] = req.PostForm.Get(k)
		}
		f.mu.Lock()
		f.count++
		f.forms = append(f.forms, form)
		status, body := f.status, f.body
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL + "/realms/core/protocol/openid-connect/token"
}

func (f *fakeTokenEndpoint) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		calls    int
		wantTok  string
		wantErr  string
		requests int
	}{
		{"cached until expiry", 200, `{"access_token":"abc","expires_in":300,"token_type":"Bearer"}`, 3, "abc", "", 1},
		{"no expires_in cached", 200, `{"access_token":"abc"}`, 2, "abc", "", 1},
		{"error status", 401, `{"error":"unauthorized_client"}`, 2, "", "unauthorized_client", 2},
		{"no access token", 200, `{"expires_in":300}`, 1, "", "no access_token", 1},
		{"not json", 200, `<html>`, 1, "", "no access_token", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, u := newTokenEndpoint(t, tc.status, tc.body)
			tok := ClientCredentials(u, "urn:ads:platform:push-service", "s3cr&t", nil)
			for range tc.calls {
				got, err := tok(ctxT(t))
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", err, tc.wantErr)
					}
					if strings.Contains(err.Error(), "s3cr") {
						t.Fatalf("error leaks the secret: %v", err)
					}
					continue
				}
				if err != nil || got != tc.wantTok {
					t.Fatalf("token = %q, %v; want %q", got, err, tc.wantTok)
				}
			}
			if n := f.requests(); n != tc.requests {
				t.Errorf("token requests = %d, want %d", n, tc.requests)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			want := map[string]string{"grant_type": "client_credentials", "client_id": "urn:ads:platform:push-service", "client_secret": "s3cr&t"}
			for _, form := range f.forms {
				for k, v := range want {
					if form[k] != v {
						t.Errorf("form[%s] = %q, want %q", k, form[k], v)
					}
				}
			}
		})
	}
}

func TestClientCredentialsRefreshesAfterExpiry(t *testing.T) {
	// expires_in 0.004 s: cached for half of it, so repeated calls soon request a new token.
	f, u := newTokenEndpoint(t, 200, `{"access_token":"abc","expires_in":0.004}`)
	tok := ClientCredentials(u, "id", "secret", nil)
	waitfor.True(t, 3*time.Second, "token refresh", func() bool {
		if _, err := tok(ctxT(t)); err != nil {
			t.Fatalf("token: %v", err)
		}
		return f.requests() >= 2
	})
}

func TestClientCredentialsConcurrentShareRequest(t *testing.T) {
	f, u := newTokenEndpoint(t, 200, `{"access_token":"abc","expires_in":300}`)
	tok := ClientCredentials(u, "id", "secret", nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got, err := tok(ctxT(t)); err != nil || got != "abc" {
				t.Errorf("token = %q, %v", got, err)
			}
		})
	}
	wg.Wait()
	if n := f.requests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestReaderUsesClientCredentials(t *testing.T) {
	tf, u := newTokenEndpoint(t, 200, `{"access_token":"svc-token","expires_in":300}`)
	f := newFake(t)
	f.set("", `{}`, 0)
	f.set(tenantA, `{}`, 0)
	r, _ := newReader(t, Config{URL: f.srv.URL, Token: ClientCredentials(u, "id", "secret", nil)})
	r.Documents(context.Background(), []string{tenantA})
	if n := tf.requests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.auths {
		if a != "Bearer svc-token" {
			t.Errorf("Authorization = %q", a)
		}
	}
}
