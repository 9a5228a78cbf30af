package engine_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/tracing"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// otlpReceiver is an OTLP/HTTP trace endpoint (POST /v1/traces, protobuf) that keeps every span.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var msg coltrace.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || proto.Unmarshal(b, &msg) != nil {
			http.Error(w, "not an OTLP trace export", 400)
			return
		}
		r.mu.Lock()
		for _, rs := range msg.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					r.services = append(r.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

// span waits for a span whose name starts with prefix.
func (r *otlpReceiver) span(t *testing.T, tr *tracing.Tracer, prefix string) *tracepb.Span {
	t.Helper()
	var found *tracepb.Span
	waitfor.True(t, e2eWait, fmt.Sprintf("a span %q exported", prefix), func() bool {
		_ = tr.ForceFlush(context.Background())
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range r.spans {
			if strings.HasPrefix(s.Name, prefix) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func intAttr(s *tracepb.Span, key string) (int64, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.GetValue().GetIntValue(), true
		}
	}
	return 0, false
}

// One trace from the producer to each delivery: the ingest request's traceparent parents the
// fan-out span (with its figures), the webhook attempt span is in the same trace, and the webhook
// request carries a traceparent of that trace naming the attempt span; the item and the webhook
// body keep the producer's traceparent, as ADSP keeps it.
func TestE2ETraceFromIngestToWebhook(t *testing.T) {
	otlp := startOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.URL)
	t.Setenv("OTEL_SERVICE_NAME", "pushgate-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tr, err := tracing.FromEnv(context.Background())
	if err != nil || tr == nil {
		t.Fatalf("tracing.FromEnv: %v, %v", tr, err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	e := e2eStart(t, func(c *engine.Config) { c.Tracer = tr })

	var mu sync.Mutex
	var hookTraceparent, hookBody string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		hookTraceparent, hookBody = req.Header.Get("traceparent"), string(b)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"h":{"id":"h","name":"H","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, hook.URL))
	e.stream(e.demo, "demo", "orders", `{"id":"orders","name":"Orders","events":[{"namespace":"shop","name":"order-placed"}]}`)
	sse := e.mustSSE("/stream/v1/streams/orders", e.demo)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const producer = "00-" + traceID + "-00f067aa0ba902b7-01"
	st, b := e.do("POST", "/event/v1/events", e.demo, `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"n":1}}`,
		map[string]string{"traceparent": producer})
	if st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	if ev := sse.next(t); !strings.Contains(ev.Data, `"traceparent":"`+producer+`"`) {
		t.Errorf("the item does not keep the producer's traceparent: %s", ev.Data)
	}

	fan := otlp.span(t, tr, "pushgate fan-out shop:order-placed")
	if got := hex.EncodeToString(fan.TraceId); got != traceID {
		t.Errorf("fan-out span trace id %s, want the ingest traceparent's %s", got, traceID)
	}
	if got := hex.EncodeToString(fan.ParentSpanId); got != "00f067aa0ba902b7" {
		t.Errorf("fan-out span parent %s, want the producer's span", got)
	}
	for key, want := range map[string]int64{tracing.AttrStreamsMatched: 1, tracing.AttrSubscribersTargeted: 1,
		tracing.AttrSubscribersDelivered: 1, tracing.AttrSubscribersDropped: 0} {
		if got, ok := intAttr(fan, key); !ok || got != want {
			t.Errorf("fan-out span %s = %d (present %v), want %d", key, got, ok, want)
		}
	}

	attempt := otlp.span(t, tr, "pushgate webhook POST")
	if got := hex.EncodeToString(attempt.TraceId); got != traceID {
		t.Errorf("webhook attempt span trace id %s, want %s", got, traceID)
	}
	mu.Lock()
	tp, body := hookTraceparent, hookBody
	mu.Unlock()
	want := "00-" + traceID + "-" + hex.EncodeToString(attempt.SpanId) + "-01"
	if tp != want {
		t.Errorf("webhook request traceparent %q, want %q (the attempt span of the producer's trace)", tp, want)
	}
	if !strings.Contains(body, `"traceparent":"`+producer+`"`) {
		t.Errorf("webhook body does not keep the producer's traceparent: %s", body)
	}
	otlp.mu.Lock()
	services := otlp.services
	otlp.mu.Unlock()
	if len(services) == 0 || services[0] != "pushgate-test" {
		t.Errorf("resource service.name %v, want OTEL_SERVICE_NAME", services)
	}
}
