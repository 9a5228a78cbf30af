package engine_test

import (
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/source"
)

// publish sends an ingest body for tenantURN straight into the embedded bus.
func publish(t *testing.T, srv *engine.Server, tenantURN, body string) {
	t.Helper()
	in, err := source.DecodeEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Bus.Publish(in.Event(tenantURN)); err != nil {
		t.Fatal(err)
	}
	_ = time.Now
}
