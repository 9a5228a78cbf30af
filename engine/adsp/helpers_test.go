package adsp_test

import (
	"context"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"
)

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serviceAccount(t *testing.T, pf *adsptest.Platform, secret string, early time.Duration) *adsp.ServiceAccount {
	t.Helper()
	sa, err := adsp.NewServiceAccount(adsp.ServiceAccountConfig{TokenURL: adsp.TokenURL(pf.OIDCBase()),
		ClientID: adsptest.ClientID, ClientSecret: secret, EarlyExpiry: early})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func tenantsOf(t *testing.T, pf *adsptest.Platform, burst int) *adsp.Tenants {
	t.Helper()
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: pf.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 0)
	ts, err := adsp.NewTenants(adsp.TenantsConfig{Directory: d, Token: sa.Token, MissBurst: burst, MissRate: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ts.Start(ctx)
	waitFor(t, 5*time.Second, func() bool { return ts.Ready() == nil })
	return ts
}
