package netserver

import (
	"strings"
	"testing"
)

func TestRedactQueryHidesTokens(t *testing.T) {
	got := redactQuery("stream=orders&token=eyJhbGciOiJSUzI1NiJ9.secret.sig&ACCESS_TOKEN=x")
	if strings.Contains(got, "eyJ") || strings.Contains(got, "=x") {
		t.Fatalf("token leaked: %q", got)
	}
	if !strings.Contains(got, "stream=orders") {
		t.Fatalf("other parameters must stay: %q", got)
	}
}
