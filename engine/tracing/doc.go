// Package tracing owns the OpenTelemetry SDK: it builds the tracer provider from the standard
// OTEL_* environment variables (off when no OTLP endpoint is configured) and gives the rest of
// the engine the few spans it records — one per event for matching and fan-out (never one per
// socket), one per webhook attempt — and the W3C traceparent to propagate.
//
// A nil *Tracer is tracing off: every method is a no-op that allocates nothing, so the hub's
// publish path costs one pointer test when tracing is not configured.
//
// Environment (read by the SDK itself, as in every OpenTelemetry SDK):
//   - OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the OTLP/HTTP collector;
//     tracing is on when one is set (ADSP sets the first).
//   - OTEL_TRACES_EXPORTER: "otlp" (the default when an endpoint is set) or "none" (off).
//   - OTEL_SDK_DISABLED=true: off.
//   - OTEL_EXPORTER_OTLP_PROTOCOL: only "http/protobuf" (the default) is built in.
//   - OTEL_SERVICE_NAME (default "pushgate"), OTEL_RESOURCE_ATTRIBUTES.
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on).
//   - OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_* as the SDK reads them.
package tracing
