package sse

import (
	"errors"
	"testing"
	"time"
)

var eventVectors = []struct {
	name      string
	id, event string
	data      string
	want      string
}{
	{name: "data-only", data: "hello", want: "data: hello\n\n"},
	{name: "full", id: "42-7", event: "stream-event", data: `{"a":1}`, want: "id: 42-7\nevent: stream-event\ndata: {\"a\":1}\n\n"},
	{name: "empty-data", data: "", want: "data: \n\n"},
	{name: "lf", data: "a\nb", want: "data: a\ndata: b\n\n"},
	{name: "crlf", data: "a\r\nb", want: "data: a\ndata: b\n\n"},
	{name: "cr", data: "a\rb", want: "data: a\ndata: b\n\n"},
	{name: "cr-cr-lf", data: "a\r\r\nb", want: "data: a\ndata: \ndata: b\n\n"},
	{name: "trailing-lf", data: "a\n", want: "data: a\ndata: \n\n"},
	{name: "injection", data: "x\n\nevent: evil\ndata: y", want: "data: x\ndata: \ndata: event: evil\ndata: data: y\n\n"},
	{name: "leading-space", data: " x", want: "data:  x\n\n"},
	{name: "event-only", event: "reset", data: `{"reason":"history-gap"}`, want: "event: reset\ndata: {\"reason\":\"history-gap\"}\n\n"},
}

func TestAppendEvent(t *testing.T) {
	for _, tc := range eventVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendEvent([]byte("x"), tc.id, tc.event, []byte(tc.data))
			if err != nil || string(got) != "x"+tc.want {
				t.Fatalf("AppendEvent = %q, %v; want %q", got, err, "x"+tc.want)
			}
			// Decoder side of the same vector.
			events := parseAll(t, []byte(tc.want))
			if len(events) != 1 {
				t.Fatalf("parsed %d events", len(events))
			}
			if e := events[0]; e.ID != tc.id || e.Type != tc.event || e.Data != normalise(tc.data) {
				t.Fatalf("parsed %+v", e)
			}
		})
	}
	for _, bad := range []struct{ id, event string }{{"a\nb", ""}, {"a\rb", ""}, {"a\x00", ""}, {"", "e\n"}, {"", "\r"}, {"", "\x00"}} {
		got, err := AppendEvent([]byte("keep"), bad.id, bad.event, []byte("d"))
		if !errors.Is(err, ErrBadField) || string(got) != "keep" {
			t.Errorf("AppendEvent(%q, %q) = %q, %v", bad.id, bad.event, got, err)
		}
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{"": true, "abc-1:2": true, "é": true, "a\n": false, "\r": false, "a\x00b": false} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
}

func TestAppendCommentRetry(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{got: string(AppendComment(nil, "heartbeat")), want: ": heartbeat\n\n"},
		{got: string(AppendComment(nil, "")), want: ": \n\n"},
		{got: string(AppendComment(nil, "a\nb")), want: ": a\n: b\n\n"},
		{got: string(AppendRetry(nil, 3*time.Second)), want: "retry: 3000\n\n"},
		{got: string(AppendRetry(nil, -time.Second)), want: "retry: 0\n\n"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
