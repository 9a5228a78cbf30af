package tracing

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Recorder keeps the ended spans of a Tracer in memory, for the tests of the packages that
// record spans (they never see the SDK's types).
type Recorder struct {
	rec *tracetest.SpanRecorder
}

// RecordedSpan is one ended span as a test looks at it.
type RecordedSpan struct {
	Name                          string
	TraceID, SpanID, ParentSpanID string
	Ints                          map[string]int64
	Strings                       map[string]string
}

// NewRecorder returns a Tracer that samples every span and keeps them in the Recorder.
func NewRecorder() (*Tracer, *Recorder) {
	rec := tracetest.NewSpanRecorder()
	return newTracer(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))), &Recorder{rec: rec}
}

// Ended returns the spans ended so far.
func (r *Recorder) Ended() []RecordedSpan {
	var out []RecordedSpan
	for _, s := range r.rec.Ended() {
		rs := RecordedSpan{Name: s.Name(), TraceID: s.SpanContext().TraceID().String(),
			SpanID: s.SpanContext().SpanID().String(), Ints: map[string]int64{}, Strings: map[string]string{}}
		if s.Parent().IsValid() {
			rs.ParentSpanID = s.Parent().SpanID().String()
		}
		for _, a := range s.Attributes() {
			switch a.Value.Type().String() {
			case "INT64":
				rs.Ints[string(a.Key)] = a.Value.AsInt64()
			case "STRING":
				rs.Strings[string(a.Key)] = a.Value.AsString()
			}
		}
		out = append(out, rs)
	}
	return out
}
