package adsp_test

import (
	"context"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"

	"github.com/pushgate/pushgate/internal/waitfor"
)

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
	waitfor.True(t, 5*time.Second, "the tenant list read", func() bool { return ts.Ready() == nil })
	return ts
}
