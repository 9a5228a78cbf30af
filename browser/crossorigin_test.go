package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
)

// TestCrossOriginSnippets runs the README's browser snippets in a page of another origin that
// --allowed-origins names, and the same snippets in a page of an origin it does not name:
//   - io(<url>/demo?stream=orders, {withCredentials: true, extraHeaders: {Authorization}}) with
//     default transports: polling (CORS preflight for the header, credentials) then the upgrade
//     to WebSocket, and the event arrives projected;
//   - the same with transports: ["websocket"]: a browser's WebSocket cannot send headers, so
//     extraHeaders is not sent and the server refuses the anonymous connect ("User not
//     authorized to connect."); with auth: {token} it connects and receives the event;
//   - EventSource(<url>/stream/v1/streams/orders?tenant=demo&token=…, {withCredentials: true});
//   - from the other origin nothing connects and no event reaches the page (the CORS answer
//     lacks the origin, the WebSocket upgrade is refused), checked after the allowed page has
//     received the same event.
func TestCrossOriginSnippets(t *testing.T) {
	allowed := originServer(t)
	refused := originServer(t)
	s := startServer(t, func(c *engine.Config) { c.AllowedOrigins = []string{allowed.URL} })
	admin := s.mint("demo", allRoles)
	s.configureOrders(admin)
	listener := s.mint("demo", "stream-listener")
	ioURL := s.url + "/demo?stream=orders"
	sseURL := s.url + "/stream/v1/streams/orders?tenant=demo&token=" + listener
	header := map[string]any{"Authorization": "Bearer " + listener}

	a := openOrigin(t, allowed.URL)
	a.js("default transports", `connectIO(`+jsArgs("polling", ioURL, map[string]any{"withCredentials": true, "extraHeaders": header})+`)`)
	a.js("websocket + extraHeaders", `connectIO(`+jsArgs("wsHeader", ioURL, map[string]any{"withCredentials": true, "extraHeaders": header, "transports": []string{"websocket"}})+`)`)
	a.js("websocket + auth", `connectIO(`+jsArgs("wsAuth", ioURL, map[string]any{"withCredentials": true, "auth": map[string]any{"token": listener}, "transports": []string{"websocket"}})+`)`)
	a.js("EventSource", `listenSSE(`+jsArgs("sse", sseURL, true)+`)`)
	a.waitJS("connected", `got.polling.connects === 1 && got.wsAuth.connects === 1 && got.sse.opens === 1`, 10*time.Second)
	a.waitJS("upgraded to WebSocket", `transportOf("polling") === "websocket"`, 10*time.Second)
	a.waitJS("websocket without the header refused", `got.wsHeader.errors.length > 0`, 5*time.Second)
	if msg := eval[string](a, `got.wsHeader.errors[0]`); msg != "User not authorized to connect." {
		t.Errorf("websocket-only with extraHeaders: connect_error %q", msg)
	}

	b := openOrigin(t, refused.URL)
	b.allowed = func(msg string) bool { // the browser reports the refusals it enforces
		return strings.Contains(msg, "CORS policy") || strings.Contains(msg, "WebSocket connection to") || strings.Contains(msg, "EventSource")
	}
	b.js("default transports", `connectIO(`+jsArgs("polling", ioURL, map[string]any{"withCredentials": true, "extraHeaders": header})+`)`)
	b.js("websocket + auth", `connectIO(`+jsArgs("wsAuth", ioURL, map[string]any{"withCredentials": true, "auth": map[string]any{"token": listener}, "transports": []string{"websocket"}})+`)`)
	b.js("EventSource", `listenSSE(`+jsArgs("sse", sseURL, true)+`)`)
	b.waitJS("refused", `got.polling.errors.length > 0 && got.wsAuth.errors.length > 0 && got.sse.errors > 0`, 10*time.Second)

	s.publish(admin, 7, "Ada")
	a.waitJS("event on every allowed client", `got.polling.events.length === 1 && got.wsAuth.events.length === 1 && got.sse.events.length === 1`, 5*time.Second)
	for _, name := range []string{"polling", "wsAuth", "sse"} {
		item := eval[map[string]any](a, `got.`+name+`.events[0]`)
		if item["orderId"] != float64(7) || item["customer"] != "Ada" || item["payload"] != nil {
			t.Errorf("%s: item %v", name, item)
		}
	}
	if off := eval[string](a, `got.polling.offsets[0]`); off == "" || off != eval[string](a, `got.sse.ids[0]`) {
		t.Errorf("Socket.IO offset %q, SSE id %q: want the same event id", off, eval[string](a, `got.sse.ids[0]`))
	}
	// The same event has reached the allowed page: nothing of it may have reached the other one.
	got := eval[string](b, `JSON.stringify({p: got.polling.connects + got.polling.events.length, w: got.wsAuth.connects + got.wsAuth.events.length, s: got.sse.opens + got.sse.events.length})`)
	if got != `{"p":0,"w":0,"s":0}` {
		t.Errorf("refused origin: connects+events %s", got)
	}
	if n := eval[int](a, `got.wsHeader.connects + got.wsHeader.events.length`); n != 0 {
		t.Errorf("websocket-only with extraHeaders connected or received: %d", n)
	}
	t.Logf("refused origin saw: %s", eval[string](b, `JSON.stringify([got.polling.errors[0], got.wsAuth.errors[0], got.sse.errors])`))
}
