package bench

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
)

const tenant = "urn:ads:platform:tenant-service:v2:/tenants/000000000000000000000001"

// nullLink is a conn.Link that keeps the last queued reference and counts bytes, so the
// benchmark measures routing, projection, encoding and queueing, not the kernel.
type nullLink struct {
	last  []byte
	bytes atomic.Int64
}

func (l *nullLink) Respond(*conn.Response)                 {}
func (l *nullLink) Send(b ...[]byte) error                 { return nil }
func (l *nullLink) Enqueue(b []byte) bool                  { l.last = b; l.bytes.Add(int64(len(b))); return true }
func (l *nullLink) Flush()                                 {}
func (l *nullLink) Close(conn.CloseReason)                 {}
func (l *nullLink) SetCloseHandler(func(conn.CloseReason)) {}
func (l *nullLink) RemoteAddr() string                     { return "" }

// wsSink delivers the Socket.IO WebSocket frame, like a socket on the WebSocket transport.
type wsSink struct {
	link *nullLink
	n    *atomic.Int64
}

func (s *wsSink) Deliver(it *hub.Item) (conn.Link, conn.Outcome) {
	s.link.Enqueue(it.SocketIO("/acme").Frame)
	s.n.Add(1)
	return s.link, conn.Queued
}
func (s *wsSink) End(conn.CloseReason) {}

type sseSink struct {
	link *nullLink
	n    *atomic.Int64
}

func (s *sseSink) Deliver(it *hub.Item) (conn.Link, conn.Outcome) {
	s.link.Enqueue(it.SSE())
	s.n.Add(1)
	return s.link, conn.Queued
}
func (s *sseSink) End(conn.CloseReason) {}

func registry(b *testing.B, withMap bool) *stream.Registry {
	mapping := ""
	if withMap {
		mapping = `,"map":{"orderId":"payload.id","total":"payload.total"}`
	}
	doc := []byte(`{"orders":{"id":"orders","name":"Orders","publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"` + mapping + `}]}}`)
	reg, err := stream.Build(nil, map[string][]byte{tenant: doc})
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

func event(i int, payload int) *source.Event {
	pad := make([]byte, payload)
	for j := range pad {
		pad[j] = 'x'
	}
	js := source.AppendEventJSON(nil, tenant, "shop", "order-placed", time.Unix(1700000000, 0), "",
		nil, []byte(fmt.Sprintf(`{"id":%d,"total":12.5,"pad":"%s"}`, i, pad)))
	return &source.Event{ID: fmt.Sprintf("1-%d", i), TenantID: tenant, Namespace: "shop", Name: "order-placed", JSON: js}
}

// BenchmarkPublish measures one event fanned out to N subscribers of one stream: routing,
// projection (once), encoding (once per wire variant) and N queue operations.
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{1000, 10000} {
		for _, variant := range []string{"ws", "sse"} {
			for _, withMap := range []bool{false, true} {
				name := fmt.Sprintf("subs=%d/transport=%s/map=%v", subs, variant, withMap)
				b.Run(name, func(b *testing.B) { benchPublish(b, subs, variant, withMap) })
			}
		}
	}
}

func benchPublish(b *testing.B, subs int, variant string, withMap bool) {
	reg := registry(b, withMap)
	h := hub.New(hub.Config{}, reg)
	defer h.Close()
	s, _ := reg.Lookup(tenant, "orders")
	var delivered atomic.Int64
	for i := 0; i < subs; i++ {
		link := &nullLink{}
		var sink hub.Sink = &wsSink{link: link, n: &delivered}
		if variant == "sse" {
			sink = &sseSink{link: link, n: &delivered}
		}
		h.Subscribe(&hub.Subscription{Stream: s.Key(), StreamID: s.ID, Scope: tenant, Sink: sink}, "", nil)
	}
	events := make([]*source.Event, 64)
	for i := range events {
		events[i] = event(i, 100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Publish(events[i%len(events)])
	}
	want := int64(b.N) * int64(subs)
	for delivered.Load() < want {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/delivery")
}
