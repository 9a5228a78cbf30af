package conn

import (
	"slices"
	"testing"
)

// Reflect allows any origin without credentials; listed origins keep credentials.
func TestCORSReflect(t *testing.T) {
	c := CORS{Reflect: true, Origins: []string{"https://listed.example"}}
	got := c.Headers("https://app.tenant.example")
	want := []Header{{"Access-Control-Allow-Origin", "https://app.tenant.example"}, {"Vary", "Origin"}}
	if !slices.Equal(got, want) {
		t.Fatalf("reflected headers %v, want %v", got, want)
	}
	if got := c.Headers("https://listed.example"); len(got) != 3 || got[1].Name != "Access-Control-Allow-Credentials" {
		t.Fatalf("listed origin headers %v", got)
	}
	if c.Headers("") != nil || (CORS{}).Allowed("https://x.example") {
		t.Fatal("no origin, or no policy, must allow nothing")
	}
}
