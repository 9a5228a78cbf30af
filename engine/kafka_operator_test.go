package engine_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
)

// Two Kafka-mode instances: a disconnect given to one instance ends the subject's connections on
// both, a revocation given to the other ends the revoked token's connections on both, and the
// revoked token is refused by both afterwards (the order travels on the config topic).
func TestKafkaOperatorOrdersReachEveryInstance(t *testing.T) {
	a, b, tok := twoInstancesWithOrders(t, engine.Config{})
	iss, err := devissuer.Load(a.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, roles ...string) string {
		s, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: roles, Subject: sub, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	admin := mint("admin-1", roleTenantAdmin)
	u1 := mint("u1", "stream-listener")
	sa := openSSE(t, a.URL()+"/stream/v1/streams/orders", u1)
	sb := openSSE(t, b.URL()+"/stream/v1/streams/orders", u1)
	if got := get(t, b.URL()+"/push/v1/connections?sub=u1", admin); strings.Count(got, `"sub":"u1"`) != 1 {
		t.Errorf("B lists %s, want its one connection of u1", got)
	}

	if code := do(t, "POST", a.URL()+"/push/v1/connections/disconnect", admin, `{"sub":"u1"}`); code != 202 {
		t.Fatalf("disconnect on A: %d", code)
	}
	for name, s := range map[string]*sseStream{"A": sa, "B": sb} {
		if ev := s.next(t, 1); ev[0].data != `{"reason":"disconnected-by-admin"}` {
			t.Errorf("%s: %+v", name, ev)
		}
	}

	sa = openSSE(t, a.URL()+"/stream/v1/streams/orders", u1)
	sb = openSSE(t, b.URL()+"/stream/v1/streams/orders", u1)
	if code := do(t, "POST", b.URL()+"/push/v1/revocations", admin, fmt.Sprintf(`{"jti":%q}`, jtiOf(t, u1))); code != 201 {
		t.Fatalf("revoke on B: %d", code)
	}
	for name, s := range map[string]*sseStream{"A": sa, "B": sb} {
		if ev := s.next(t, 1); ev[0].data != `{"reason":"token-revoked"}` {
			t.Errorf("%s: %+v", name, ev)
		}
	}
	for name, in := range map[string]instance{"A": a, "B": b} {
		req, _ := http.NewRequest("GET", in.URL()+"/stream/v1/streams/orders", nil)
		req.Header.Set("Authorization", "Bearer "+u1)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s accepts the revoked token: %d", name, resp.StatusCode)
		}
	}
	// Another subject is untouched.
	if code := do(t, "GET", a.URL()+"/stream/v1/streams", tok, ""); code != 200 {
		t.Errorf("an unrevoked token: %d", code)
	}
}
