package engine_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/pushgate/pushgate/protocol/socketio"
)

const roleTenantAdmin = "urn:ads:platform:tenant-service:tenant-admin"

// jtiOf reads the jti claim of a token (not verified: the test minted it).
func jtiOf(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ JTI string }
	if err != nil || json.Unmarshal(b, &c) != nil || c.JTI == "" {
		t.Fatalf("token without jti: %v", err)
	}
	return c.JTI
}

func (c *e2eSIO) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(e2eWait):
		t.Fatal("the transport was not closed")
	}
}

// Who is listening, disconnect by subject and token revocation on one server: the listing names
// the subject's Socket.IO and SSE connections; a disconnect ends them with disconnected-by-admin
// (told, then the transport closes) and leaves other subjects alone; a revoked token's connections
// end with token-revoked, and the token can neither connect again nor refresh a connection.
func TestE2EOperatorDisconnectAndRevoke(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "ops", `{"id":"ops","name":"Ops","events":[{"namespace":"ops","name":"e"}]}`)
	admin := e.mint("demo", roleTenantAdmin, "admin-1", time.Hour)
	u1 := e.mint("demo", "stream-listener", "u1", time.Hour)
	c1 := e.subscribeSIO("/demo", e2eQ("stream", "ops"), map[string]any{"token": u1})
	s1 := e.mustSSE("/stream/v1/streams/ops", u1)
	s2 := e.mustSSE("/stream/v1/streams/ops", e.mint("demo", "stream-listener", "u2", time.Hour))

	st, body := e.do("GET", "/push/v1/connections?sub=u1", admin, "", nil)
	var list struct {
		Connections []struct{ ID, Sub, Stream, Transport, Instance, RemoteAddress string }
	}
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list.Connections) != 2 {
		t.Fatalf("GET /push/v1/connections?sub=u1: %d %s", st, body)
	}
	transports := map[string]bool{}
	for _, c := range list.Connections {
		transports[c.Transport] = true
		if c.Sub != "u1" || c.Stream != "ops" || c.ID == "" || c.Instance == "" || !strings.HasPrefix(c.RemoteAddress, "127.0.0.1:") {
			t.Errorf("listed %+v", c)
		}
	}
	if !transports["socketio"] || !transports["sse"] {
		t.Errorf("transports %v, want socketio and sse", transports)
	}
	if st, body := e.do("POST", "/push/v1/connections/disconnect", e.acme, `{"sub":"u1","tenant":"demo"}`, nil); st != 403 {
		t.Errorf("disconnect without the role: %d %s", st, body)
	}

	if st, body := e.do("POST", "/push/v1/connections/disconnect", admin, `{"sub":"u1"}`, nil); st != 202 {
		t.Fatalf("disconnect: %d %s", st, body)
	}
	if n, a := c1.event(); n != "pushgate:close" || a != `{"reason":"disconnected-by-admin"}` {
		t.Errorf("Socket.IO client got %s %s", n, a)
	}
	c1.waitClosed(t)
	if ev := s1.next(t); ev.Type != "close" || ev.Data != `{"reason":"disconnected-by-admin"}` {
		t.Errorf("SSE client got %+v", ev)
	}
	e.publish(e.demo, "ops", "e", "")
	if ev := s2.next(t); ev.Type != "" || !strings.Contains(ev.Data, `"name":"e"`) {
		t.Errorf("another subject's stream got %+v", ev)
	}

	// A disconnected client may come back; a revoked token may not.
	c1 = e.subscribeSIO("/demo", e2eQ("stream", "ops"), map[string]any{"token": u1})
	if st, body := e.do("POST", "/push/v1/revocations", admin, fmt.Sprintf(`{"jti":%q}`, jtiOf(t, u1)), nil); st != 201 {
		t.Fatalf("revoke: %d %s", st, body)
	}
	if n, a := c1.event(); n != "pushgate:close" || a != `{"reason":"token-revoked"}` {
		t.Errorf("revoked Socket.IO client got %s %s", n, a)
	}
	c1.waitClosed(t)
	if msg, code := e.connectErr("/demo", e2eQ("stream", "ops"), nil, map[string]any{"token": u1}); code != "unauthorized" {
		t.Errorf("reconnect with the revoked token: %s %s", msg, code)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/ops", map[string]string{"Authorization": "Bearer " + u1}); st != 401 {
		t.Errorf("SSE with the revoked token: %d", st)
	}

	// A refresh with a revoked token is refused; the connection keeps its own token.
	u3 := e.mint("demo", "stream-listener", "u3", time.Hour)
	c3 := e.subscribeSIO("/demo", e2eQ("stream", "ops"), map[string]any{"token": u3})
	fresh := e.mint("demo", "stream-listener", "u3", 2*time.Hour)
	if st, _ := e.do("POST", "/push/v1/revocations", admin, fmt.Sprintf(`{"jti":%q}`, jtiOf(t, fresh)), nil); st != 201 {
		t.Fatalf("revoke the fresh token: %d", st)
	}
	c3.write("4" + string(socketio.AppendEventAck(nil, "/demo", 9, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, fresh)))))
	for {
		p := c3.next()
		if p.Type == socketio.Ack {
			if !strings.Contains(p.Data, `"ok":false`) {
				t.Errorf("refresh with a revoked token: %s", p.Data)
			}
			break
		}
	}
	// Revoking a subject's tokens issued until now ends its connections too.
	if st, body := e.do("POST", "/push/v1/revocations", admin, `{"sub":"u3"}`, nil); st != 201 {
		t.Fatalf("revoke by subject: %d %s", st, body)
	}
	if n, a := c3.event(); n != "pushgate:close" || a != `{"reason":"token-revoked"}` {
		t.Errorf("subject revocation: %s %s", n, a)
	}
}

// The receipt of an event: the streams it matched, the subscribers it reached, its webhook
// deliveries, its trace id, and for ?sub= whether that subject's connections got it.
func TestE2EEventReceipt(t *testing.T) {
	e := e2eStart(t, nil)
	hook := e2eStartReceiver(t)
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"h":{"id":"h","name":"H","url":%q,"events":[{"namespace":"rc","name":"e"}]}}}}`, hook.URL))
	e.stream(e.demo, "demo", "rc", `{"id":"rc","name":"RC","events":[{"namespace":"rc","name":"e"}]}`)
	admin := e.mint("demo", roleTenantAdmin, "admin-1", time.Hour)
	u1 := e.mint("demo", "stream-listener", "u1", time.Hour)
	s1 := e.mustSSE("/stream/v1/streams/rc", u1)
	c1 := e.subscribeSIO("/demo", e2eQ("stream", "rc", "criteria", `{"correlationId":"other"}`), map[string]any{"token": u1})
	defer c1.close()
	s2 := e.mustSSE("/stream/v1/streams/rc", e.mint("demo", "stream-listener", "u2", time.Hour))
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	id := e.publish(e.demo, "rc", "e", `"traceparent":"`+tp+`","correlationId":"c-1"`)
	s1.next(t)
	s2.next(t)
	hook.wait(t, 1)

	var r struct {
		EventID, TenantID, Type, TraceID string
		Streams                          []string
		Subscribers                      struct{ Targeted, Delivered, Dropped int }
		Webhooks                         struct{ Queued, Delivered, Dead int }
		Instances                        []struct{ Instance string }
		Subject                          *struct {
			Sub         string
			Received    bool
			Connections []struct{ ID, Stream, Transport, At string }
		}
	}
	// A timeout is reported by the checks below, which show the last receipt.
	_ = waitfor.Bool(e2eWait, func() bool {
		st, body := e.do("GET", "/push/v1/events/"+id+"?sub=u1", admin, "", nil)
		if st != 200 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("GET receipt: %d %s", st, body)
		}
		return r.Webhooks.Delivered == 1
	})
	if r.EventID != id || r.Type != "rc:e" || r.TraceID != "0af7651916cd43dd8448eb211c80319c" || len(r.Streams) != 1 || r.Streams[0] != "rc" || len(r.Instances) != 1 {
		t.Errorf("receipt %+v", r)
	}
	if r.Subscribers.Targeted != 2 || r.Subscribers.Delivered != 2 || r.Subscribers.Dropped != 0 {
		t.Errorf("subscribers %+v, want 2 targeted and delivered (the Socket.IO criteria do not match)", r.Subscribers)
	}
	if r.Webhooks.Queued != 1 || r.Webhooks.Delivered != 1 || r.Webhooks.Dead != 0 {
		t.Errorf("webhooks %+v", r.Webhooks)
	}
	if r.Subject == nil || !r.Subject.Received || len(r.Subject.Connections) != 1 || r.Subject.Connections[0].Transport != "sse" || r.Subject.Connections[0].At == "" {
		t.Errorf("subject u1: %+v, want its SSE connection (its Socket.IO criteria did not match)", r.Subject)
	}
	if st, body := e.do("GET", "/push/v1/events/"+id+"?sub=nobody", admin, "", nil); st != 200 || !strings.Contains(string(body), `"received":false`) {
		t.Errorf("subject without connections: %d %s", st, body)
	}
	if st, _ := e.do("GET", "/push/v1/events/"+id, e.acme, "", nil); st != 403 {
		t.Errorf("another tenant's sender: %d", st)
	}
	if st, _ := e.do("GET", "/push/v1/events/0-0", admin, "", nil); st != 404 {
		t.Errorf("unknown event: %d", st)
	}
}
