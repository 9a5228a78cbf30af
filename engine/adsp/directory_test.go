package adsp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/pushgate/pushgate/engine/adsp"
)

// The directory answers the entries of the platform namespace (cached for the TTL, read again on
// a miss); a pinned URL wins without any request.
func TestDirectory(t *testing.T) {
	var requests atomic.Int64
	entries := `[{"namespace":"platform","service":"tenant-service:v2","url":"http://tenants.example/api/tenant/v2","urn":"urn:ads:platform:tenant-service:v2"},` +
		`{"namespace":"platform","service":"event-service:v1","url":"http://events.example/event/v1","urn":"urn:ads:platform:event-service:v1"}]`
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/directory/v2/namespaces/platform/entries" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(entries))
	}))
	t.Cleanup(dir.Close)
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: dir.URL, Pinned: map[string]string{adsp.EventServiceAPI: "http://pinned.example/event/v1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := d.Resolve(ctx, adsp.TenantServiceAPI, "v2/tenants")
	if err != nil || got != "http://tenants.example/api/tenant/v2/tenants" {
		t.Fatalf("tenants URL %q %v (new URL('v2/tenants', api) in the SDK)", got, err)
	}
	if got, _ := d.Resolve(ctx, adsp.TenantServiceAPI, "v2/tenants/abc"); got != "http://tenants.example/api/tenant/v2/tenants/abc" || requests.Load() != 1 {
		t.Fatalf("second look-up %q after %d requests, want 1 (cached)", got, requests.Load())
	}
	if got, _ := d.Resolve(ctx, adsp.EventServiceAPI, "v1/events"); got != "http://pinned.example/event/v1/events" || requests.Load() != 1 {
		t.Fatalf("pinned event service %q after %d requests", got, requests.Load())
	}
	if _, err := d.URL(ctx, adsp.ConfigurationServiceAPI); err == nil || requests.Load() != 2 {
		t.Fatalf("missing entry: %v after %d requests (want an error after one more read)", err, requests.Load())
	}
}
