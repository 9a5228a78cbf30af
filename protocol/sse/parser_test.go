package sse

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type parsed struct {
	ID, Type, Data string
}

func normalise(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func parseChunks(t *testing.T, chunks ...[]byte) []parsed {
	t.Helper()
	var p Parser
	var out []parsed
	for _, c := range chunks {
		if err := p.Feed(c, func(e Event) { out = append(out, parsed{e.ID, e.Type, string(e.Data)}) }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func parseAll(t *testing.T, b []byte) []parsed { return parseChunks(t, b) }

var streamVectors = []struct {
	name string
	in   string
	want []parsed
}{
	{name: "simple", in: "data: a\n\n", want: []parsed{{Data: "a"}}},
	{name: "two", in: "data: a\n\ndata: b\n\n", want: []parsed{{Data: "a"}, {Data: "b"}}},
	{name: "crlf", in: "id: 1\r\nevent: e\r\ndata: x\r\ndata: y\r\n\r\n", want: []parsed{{ID: "1", Type: "e", Data: "x\ny"}}},
	{name: "cr", in: "data: x\rdata:y\r\r", want: []parsed{{Data: "x\ny"}}},
	{name: "comment-heartbeat", in: ": hb\n\ndata: a\n\n", want: []parsed{{Data: "a"}}},
	{name: "no-data-not-dispatched", in: "event: e\n\ndata: a\n\n", want: []parsed{{Data: "a"}}},
	{name: "id-persists", in: "id: 7\ndata: a\n\ndata: b\n\n", want: []parsed{{ID: "7", Data: "a"}, {ID: "7", Data: "b"}}},
	{name: "id-nul-ignored", in: "id: 7\ndata: a\n\nid: 8\x00\ndata: b\n\n", want: []parsed{{ID: "7", Data: "a"}, {ID: "7", Data: "b"}}},
	{name: "no-colon", in: "data\n\n", want: []parsed{{Data: ""}}},
	{name: "no-space", in: "data:x\n\n", want: []parsed{{Data: "x"}}},
	{name: "two-spaces", in: "data:  x\n\n", want: []parsed{{Data: " x"}}},
	{name: "unknown-field", in: "foo: bar\ndata: a\n\n", want: []parsed{{Data: "a"}}},
	{name: "bom", in: "\xef\xbb\xbfdata: a\n\n", want: []parsed{{Data: "a"}}},
	{name: "unterminated", in: "data: a\n\ndata: b\n", want: []parsed{{Data: "a"}}},
	{name: "retry", in: "retry: 3000\n\nretry: x\n\n", want: nil},
}

func TestParser(t *testing.T) {
	for _, tc := range streamVectors {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			want := tc.want
			if got := parseAll(t, in); !reflect.DeepEqual(got, want) {
				t.Fatalf("whole: %+v, want %+v", got, want)
			}
			for i := 0; i <= len(in); i++ {
				if got := parseChunks(t, in[:i], in[i:]); !reflect.DeepEqual(got, want) {
					t.Fatalf("split at %d: %+v, want %+v", i, got, want)
				}
			}
			if got := parseChunks(t, bytesEach(in)...); !reflect.DeepEqual(got, want) {
				t.Fatalf("byte by byte: %+v, want %+v", got, want)
			}
		})
	}
}

func bytesEach(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func TestParserRetryAndLastID(t *testing.T) {
	var p Parser
	_ = p.Feed([]byte("retry: 2500\nid: abc\n\nretry: nope\n\n"), func(Event) {})
	if p.Retry() != 2500*time.Millisecond || p.LastEventID() != "abc" {
		t.Fatalf("retry %v id %q", p.Retry(), p.LastEventID())
	}
}

func TestParserMaxEventBytes(t *testing.T) {
	p := Parser{MaxEventBytes: 16}
	if err := p.Feed([]byte("data: 0123456789\n"), func(Event) {}); err != nil {
		t.Fatal(err)
	}
	if err := p.Feed([]byte("data: 0123456789"), func(Event) {}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzAppendEventParse: for any data, parsing AppendEvent's output (whole,
// and split in two at every byte) yields exactly one event whose data is
// the input with line breaks normalised to "\n".
func FuzzAppendEventParse(f *testing.F) {
	for _, tc := range eventVectors {
		f.Add(tc.id, tc.event, []byte(tc.data))
	}
	f.Add("", "", []byte("\r"))
	f.Add("i", "e", []byte("\n\n\r\n\r\r"))
	f.Fuzz(func(t *testing.T, id, event string, data []byte) {
		out, err := AppendEvent(nil, id, event, data)
		if err != nil {
			if ValidID(id) && ValidID(event) {
				t.Fatalf("AppendEvent(%q, %q): %v", id, event, err)
			}
			return
		}
		want := []parsed{{ID: id, Type: event, Data: normalise(string(data))}}
		if got := parseAll(t, out); !reflect.DeepEqual(got, want) {
			t.Fatalf("parse(%q) = %+v, want %+v", out, got, want)
		}
		for i := 0; i <= len(out); i += 1 + len(out)/64 {
			if got := parseChunks(t, out[:i], out[i:]); !reflect.DeepEqual(got, want) {
				t.Fatalf("split %d of %q = %+v", i, out, got)
			}
		}
	})
}

// FuzzParser: any stream gives the same events whole, in two chunks, and
// byte by byte; re-encoding them parses back to the same events.
func FuzzParser(f *testing.F) {
	for _, tc := range streamVectors {
		f.Add([]byte(tc.in), uint(len(tc.in)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		if len(in) > 4096 {
			return
		}
		whole := parseAll(t, in)
		s := int(split % uint(len(in)+1))
		if got := parseChunks(t, in[:s], in[s:]); !reflect.DeepEqual(got, whole) {
			t.Fatalf("split %d of %q: %+v vs %+v", s, in, got, whole)
		}
		if got := parseChunks(t, bytesEach(in)...); !reflect.DeepEqual(got, whole) {
			t.Fatalf("bytewise %q: %+v vs %+v", in, got, whole)
		}
		var enc []byte
		for _, e := range whole {
			var err error
			if enc, err = AppendEvent(enc, e.ID, e.Type, []byte(e.Data)); err != nil {
				if bytes.IndexByte([]byte(e.ID+e.Type), 0) >= 0 {
					return // NUL in the event type is legal to parse but not to write
				}
				t.Fatalf("re-encode %+v: %v", e, err)
			}
		}
		// An empty id cannot be re-sent as "no id", so only compare the data.
		again := parseAll(t, enc)
		if len(again) != len(whole) {
			t.Fatalf("re-parse %q: %d events, want %d", enc, len(again), len(whole))
		}
		for i := range again {
			if again[i].Data != whole[i].Data || again[i].Type != whole[i].Type {
				t.Fatalf("re-parse event %d: %+v vs %+v", i, again[i], whole[i])
			}
		}
	})
}
