package tracing

import (
	"context"
	"testing"
)

func TestEnabledFollowsTheOTELVariables(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true}, // the SDK's default endpoint
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
	} {
		if got := Enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("Enabled(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

func TestFromEnvRefusesWhatItCannotExport(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	if tr, err := FromEnv(context.Background()); err == nil || tr != nil {
		t.Errorf("grpc protocol: %v, %v; want an error", tr, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	if _, err := FromEnv(context.Background()); err == nil {
		t.Error("OTEL_TRACES_EXPORTER=zipkin accepted")
	}
}

// A nil Tracer (tracing off) records nothing and allocates nothing on the hub's path.
func TestNilTracerIsFree(t *testing.T) {
	var tr *Tracer
	ev := Event{ID: "1-1", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if n := testing.AllocsPerRun(100, func() {
		s := tr.StartFanout(ev)
		s.EndFanout(1, 2, 3, 4)
	}); n != 0 {
		t.Errorf("tracing off allocates %v per event", n)
	}
	if s := tr.StartWebhookAttempt(Attempt{}); s.Traceparent() != "" || s.Recording() {
		t.Error("the zero Span has a traceparent")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@hooks.example/path?token=x": "https://hooks.example/path",
		"http://h.example/a#f":                       "http://h.example/a",
		"http://h.example/a@b":                       "http://h.example/a@b",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
