package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// An API write rebuilds the registry once — by the control plane's one rebuilder, which the
// write waits for (read-your-writes) — not once on the Applied path and again on Store.Changes;
// a webhook state write rebuilds nothing (the registry is not compiled from it, the hub rescans
// nothing, no worker gets a snapshot).
func TestOneRebuildPerRevision(t *testing.T) {
	srv := startPlain(t, engine.Config{})
	iss, err := devissuer.Load(srv.Config().DataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener", "urn:ads:platform:configuration-service:configuration-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	settled := func() error { // the rebuilder and the webhook sender consumed every notification
		if len(srv.Store.Changes()) != 0 || len(srv.Store.WebhookStateChanges()) != 0 {
			return errPending
		}
		return nil
	}
	waitfor.Check(t, 5*time.Second, settled)
	before := srv.Control.Rebuilds()
	for i, id := range []string{"a", "b", "c"} {
		body := `{"operation":"UPDATE","update":{"` + id + `":{"id":"` + id + `","name":"S","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"x"}]}}}`
		if code := do(t, "PATCH", srv.URL()+"/configuration/v2/configuration/platform/push-service", tok, body); code != 200 {
			t.Fatalf("PATCH: %d", code)
		}
		if srv.Control.Documents().Revision != srv.Store.Revision() {
			t.Fatalf("PATCH %d answered before its revision %d was live", i, srv.Store.Revision())
		}
		waitfor.Check(t, 5*time.Second, settled)
		if got := srv.Control.Rebuilds() - before; got != int64(i+1) {
			t.Fatalf("%d PATCHes rebuilt the registry %d times", i+1, got)
		}
	}
	rebuilt := srv.Control.Rebuilds()
	if err := srv.Store.PutWebhookState("some endpoint", 1, []byte(`{"secret":"x"}`)); err != nil {
		t.Fatal(err)
	}
	waitfor.Check(t, 5*time.Second, settled)
	if got := srv.Control.Rebuilds(); got != rebuilt {
		t.Fatalf("a webhook state write rebuilt the registry (%d → %d rebuilds)", rebuilt, got)
	}
}

var errPending = errors.New("notifications not consumed yet")
