package tracing

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// defaultServiceName names the service when OTEL_SERVICE_NAME is unset.
const defaultServiceName = "pushgate"

// instrumentationName is the tracer's scope name.
const instrumentationName = "github.com/pushgate/pushgate"

// Tracer records pushgate's spans. A nil *Tracer is tracing off.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// Enabled reports whether the OTEL_* environment turns tracing on: an OTLP endpoint is set,
// OTEL_TRACES_EXPORTER is not "none" and OTEL_SDK_DISABLED is not true.
func Enabled(getenv func(string) string) bool {
	if v, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); v {
		return false
	}
	switch strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv builds the tracer from the process environment; nil (tracing off) when Enabled says
// so. Call Shutdown at exit to flush.
func FromEnv(ctx context.Context) (*Tracer, error) {
	if !Enabled(os.Getenv) {
		return nil, nil
	}
	if exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp != "" && exp != "otlp" {
		return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q is not supported (use otlp or none)", exp)
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(os.Getenv(v)); p != "" && p != "http/protobuf" {
			return nil, fmt.Errorf("tracing: %s=%q is not supported (only http/protobuf)", v, p)
		}
	}
	exporter, err := otlptracehttp.New(ctx) // endpoint, headers, timeout, TLS: OTEL_EXPORTER_OTLP_*
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(defaultServiceName), semconv.ServiceVersion(version())),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME (they win)
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// No sampler option: the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return newTracer(tp), nil
}

// version is the module version the binary was built from ("(devel)" from a work tree).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "unknown"
}

func newTracer(tp *sdktrace.TracerProvider) *Tracer {
	return &Tracer{provider: tp, tracer: tp.Tracer(instrumentationName)}
}

// Shutdown flushes the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// ForceFlush exports the ended spans now (tests, drains).
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// parent returns ctx carrying the remote span context of traceparent (ctx unchanged when it is
// empty or invalid).
func (t *Tracer) parent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return t.prop.Extract(ctx, carrier(traceparent))
}

// carrier is a TextMapCarrier holding only a traceparent.
type carrier string

func (c carrier) Get(key string) string {
	if key == "traceparent" {
		return string(c)
	}
	return ""
}
func (c carrier) Set(string, string) {}
func (c carrier) Keys() []string     { return []string{"traceparent"} }

// Span is one recorded span; the zero Span (tracing off, or not sampled) does nothing.
type Span struct {
	s trace.Span
}

// Recording reports whether the span is sampled and records attributes.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// Traceparent is the W3C traceparent naming this span as the parent ("" for the zero Span).
func (s Span) Traceparent() string {
	if s.s == nil {
		return ""
	}
	sc := s.s.SpanContext()
	if !sc.IsValid() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// TraceID is the span's trace id in hex ("" for the zero Span).
func (s Span) TraceID() string {
	if s.s == nil || !s.s.SpanContext().HasTraceID() {
		return ""
	}
	return s.s.SpanContext().TraceID().String()
}

// Event describes the event a fan-out span is about.
type Event struct {
	ID, TenantID, Namespace, Name, Traceparent string
}

// Attribute keys of pushgate's spans (documented in the README "Tracing" section).
const (
	AttrEventID              = "pushgate.event.id"
	AttrEventType            = "pushgate.event.type"
	AttrTenantID             = "pushgate.tenant.id"
	AttrStreamsMatched       = "pushgate.streams.matched"
	AttrSubscribersTargeted  = "pushgate.subscribers.targeted"
	AttrSubscribersDelivered = "pushgate.subscribers.delivered"
	AttrSubscribersDropped   = "pushgate.subscribers.dropped"
	AttrWebhookID            = "pushgate.webhook.id"
	AttrWebhookDelivery      = "pushgate.webhook.delivery_id"
	AttrWebhookAttempt       = "pushgate.webhook.attempt"
	AttrWebhookOutcome       = "pushgate.webhook.outcome"
)

// StartFanout starts the span of one event's matching and fan-out, as a child of the event's
// traceparent (a new trace when it has none). The zero Span when t is nil.
func (t *Tracer) StartFanout(ev Event) Span {
	if t == nil {
		return Span{}
	}
	ctx := t.parent(context.Background(), ev.Traceparent)
	_, s := t.tracer.Start(ctx, "pushgate fan-out "+ev.Namespace+":"+ev.Name, trace.WithSpanKind(trace.SpanKindConsumer))
	if s.IsRecording() {
		s.SetAttributes(
			attribute.String(AttrEventID, ev.ID),
			attribute.String(AttrEventType, ev.Namespace+":"+ev.Name),
			attribute.String(AttrTenantID, ev.TenantID),
		)
	}
	return Span{s: s}
}

// EndFanout ends a fan-out span with its figures: stream scopes matched, subscribers targeted
// (matched the scope and its criteria), delivered (queued to the connection), dropped (the
// connection was closed or too slow).
func (s Span) EndFanout(streams, targeted, delivered, dropped int64) {
	if s.s == nil {
		return
	}
	if s.s.IsRecording() {
		s.s.SetAttributes(
			attribute.Int64(AttrStreamsMatched, streams),
			attribute.Int64(AttrSubscribersTargeted, targeted),
			attribute.Int64(AttrSubscribersDelivered, delivered),
			attribute.Int64(AttrSubscribersDropped, dropped),
		)
	}
	s.s.End()
}

// Attempt describes one webhook attempt.
type Attempt struct {
	WebhookID, DeliveryID, URL, Traceparent string
	Number                                  int
}

// StartWebhookAttempt starts the client span of one webhook attempt, as a child of the event's
// traceparent. The zero Span when t is nil.
func (t *Tracer) StartWebhookAttempt(a Attempt) Span {
	if t == nil {
		return Span{}
	}
	ctx := t.parent(context.Background(), a.Traceparent)
	_, s := t.tracer.Start(ctx, "pushgate webhook POST", trace.WithSpanKind(trace.SpanKindClient))
	if s.IsRecording() {
		s.SetAttributes(
			attribute.String(AttrWebhookID, a.WebhookID),
			attribute.String(AttrWebhookDelivery, a.DeliveryID),
			attribute.Int(AttrWebhookAttempt, a.Number),
			attribute.String("http.request.method", "POST"),
			attribute.String("url.full", redactURL(a.URL)),
		)
	}
	return Span{s: s}
}

// EndWebhookAttempt ends a webhook attempt span with its HTTP status (0 when none), outcome and
// error text ("" on success).
func (s Span) EndWebhookAttempt(status int, outcome, errText string) {
	if s.s == nil {
		return
	}
	if s.s.IsRecording() {
		if status != 0 {
			s.s.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		s.s.SetAttributes(attribute.String(AttrWebhookOutcome, outcome))
		if errText != "" {
			s.s.SetStatus(codes.Error, errText)
		}
	}
	s.s.End()
}

// redactURL drops the user information and the query (they may carry credentials).
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			u = u[:i+3] + rest[at+1:]
		}
	}
	return u
}
