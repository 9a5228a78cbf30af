package adsp_test

import (
	"testing"

	"github.com/pushgate/pushgate/engine/adsp"
)

// A per-service flag takes the API URL as the directory lists it, or the service's root.
func TestSettingsPinned(t *testing.T) {
	got := adsp.Settings{TenantServiceURL: "http://tenant-management-api:3333", EventServiceURL: "http://event-service:3334/event/v1"}.Pinned()
	if got[adsp.TenantServiceAPI] != "http://tenant-management-api:3333/api/tenant/v2" || got[adsp.EventServiceAPI] != "http://event-service:3334/event/v1" {
		t.Fatalf("pinned %v", got)
	}
}
