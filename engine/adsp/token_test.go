package adsp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp/adsptest"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// The service-account token is fetched once by client credentials from the core realm, shared by
// every caller, and replaced EarlyExpiry before it expires.
func TestServiceAccountFetchedOnceRefreshedAtExpiry(t *testing.T) {
	pf := adsptest.Start(t)
	pf.SetTokenLifetime(3 * time.Second)
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 2*time.Second) // valid for 1 s here
	first, err := sa.Token(context.Background())
	if err != nil || !strings.HasPrefix(first, "svc-") {
		t.Fatalf("Token: %q %v", first, err)
	}
	for range 5 {
		if tok, _ := sa.Token(context.Background()); tok != first {
			t.Fatalf("token replaced before its expiry: %q", tok)
		}
	}
	if n := pf.TokenRequests(); n != 1 {
		t.Fatalf("token requests: %d, want 1", n)
	}
	waitfor.True(t, 5*time.Second, "the condition", func() bool {
		tok, err := sa.Token(context.Background())
		return err == nil && tok != first
	})
	if n := pf.TokenRequests(); n != 2 {
		t.Fatalf("token requests after expiry: %d, want 2", n)
	}

	bad := serviceAccount(t, pf, "wrong", 0)
	if _, err := bad.Token(context.Background()); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong secret: %v (must fail without showing the secret)", err)
	}
}
