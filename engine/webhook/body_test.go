package webhook

import (
	"encoding/json"
	"strings"
	"testing"
)

// The tenant of a webhook body is ADSP's AdspId object (what the push-service serialised:
// apps/push-service's event is sent with tenantId an AdspId): one member per URN part up to the
// resource, which keeps its own colons; a value that is no ADSP URN stays a string.
func TestAdspIDOfATenant(t *testing.T) {
	for _, tt := range []struct{ urn, want string }{
		{"urn:ads:platform:tenant-service:v2:/tenants/61f0a", `{"type":"resource","namespace":"platform","service":"tenant-service","api":"v2","resource":"/tenants/61f0a"}`},
		{"urn:ads:platform:tenant-service:v2:/a:b:c", `{"type":"resource","namespace":"platform","service":"tenant-service","api":"v2","resource":"/a:b:c"}`},
		{"urn:ads:platform:tenant-service:v2", `{"type":"api","namespace":"platform","service":"tenant-service","api":"v2"}`},
		{"urn:ads:platform:tenant-service", `{"type":"service","namespace":"platform","service":"tenant-service"}`},
		{"urn:ads:platform", `{"type":"namespace","namespace":"platform"}`},
		{"tenant-a", `"tenant-a"`},
	} {
		got := string(appendAdspID(nil, tt.urn))
		if got != tt.want || !json.Valid([]byte(got)) {
			t.Errorf("%s: %s, want %s", tt.urn, got, tt.want)
		}
	}
}

// bodySize leaves room for the whole body: building it allocates once.
func TestBodySizeHoldsTheBody(t *testing.T) {
	ev := pingEvent(tenantA, 1)
	ev.CorrelationID, ev.Traceparent = strings.Repeat("c", 40), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	raw := parseEvent(ev)
	if n := bodySize(ev, raw); len(appendBodyOf(make([]byte, 0, n), ev, raw)) > n {
		t.Fatalf("the body is longer than bodySize's %d bytes", n)
	}
}
