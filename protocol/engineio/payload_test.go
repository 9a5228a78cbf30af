package engineio

import (
	"bytes"
	"errors"
	"testing"
)

var payloadVectors = []struct {
	name string
	body string
	want []Packet
}{
	{name: "one", body: "4hello", want: []Packet{{Type: PacketMessage, Data: []byte("hello")}}},
	{name: "three", body: "4test1\x1e4test2\x1e4test3", want: []Packet{
		{Type: PacketMessage, Data: []byte("test1")},
		{Type: PacketMessage, Data: []byte("test2")},
		{Type: PacketMessage, Data: []byte("test3")},
	}},
	{name: "text-binary", body: "4hello\x1ebAQIDBA==", want: []Packet{
		{Type: PacketMessage, Data: []byte("hello")},
		{Type: PacketMessage, Data: []byte{1, 2, 3, 4}, Binary: true},
	}},
	{name: "socketio-binary", body: "451-[\"message-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID\x1e2", want: []Packet{
		{Type: PacketMessage, Data: []byte(`51-["message-back",{"_placeholder":true,"num":0}]`)},
		{Type: PacketMessage, Data: []byte{1, 2, 3}, Binary: true},
		{Type: PacketPing},
	}},
	{name: "close", body: "1", want: []Packet{{Type: PacketClose}}},
	{name: "pong", body: "3", want: []Packet{{Type: PacketPong}}},
}

func decodeAll(t *testing.T, body []byte) ([]Packet, error) {
	t.Helper()
	var got []Packet
	_, err := DecodePayload(body, nil, func(p Packet) error {
		got = append(got, p)
		return nil
	})
	return got, err
}

func TestDecodePayload(t *testing.T) {
	for _, tc := range payloadVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(t, []byte(tc.body))
			if err != nil {
				t.Fatalf("DecodePayload(%q): %v", tc.body, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d packets, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !samePacket(got[i], tc.want[i]) {
					t.Errorf("packet %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			// Encoder: the same table, re-encoded.
			var enc []byte
			for i, p := range tc.want {
				enc = AppendPayloadPacket(enc, i == 0, p)
			}
			if string(enc) != tc.body {
				t.Errorf("encode = %q, want %q", enc, tc.body)
			}
		})
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		err   error
		count int // packets delivered before the error
	}{
		{name: "empty", body: "", err: ErrEmptyPacket},
		{name: "abc", body: "abc", err: ErrUnknownPacket},
		{name: "empty-record", body: "4a\x1e\x1e4b", err: ErrEmptyPacket, count: 1},
		{name: "trailing-sep", body: "4a\x1e", err: ErrEmptyPacket, count: 1},
		{name: "bad-second", body: "4a\x1ezz", err: ErrUnknownPacket, count: 1},
		{name: "bad-base64", body: "2\x1eb***", err: ErrBadBase64, count: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(t, []byte(tc.body))
			if !errors.Is(err, tc.err) || len(got) != tc.count {
				t.Fatalf("DecodePayload(%q) = %d packets, %v; want %d, %v", tc.body, len(got), err, tc.count, tc.err)
			}
		})
	}
	stop := errors.New("stop")
	n := 0
	_, err := DecodePayload([]byte("2\x1e3\x1e4"), nil, func(Packet) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("callback error: n=%d err=%v", n, err)
	}
}

// FuzzDecodePayload checks that decoding a body equals decoding its records
// one by one, and that re-encoding the packets decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, tc := range payloadVectors {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte("4a\x1e\x1e4b"))
	f.Add([]byte("bAQ\x1ebAQIDBA==\x1e4x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []Packet
		_, err := DecodePayload(body, make([]byte, 0, 1), func(p Packet) error {
			got = append(got, p)
			return nil
		})
		// Record by record.
		var want []Packet
		var werr error
		for _, rec := range bytes.Split(body, []byte{RecordSeparator}) {
			p, _, e := DecodePacket(rec, nil)
			if e != nil {
				werr = e
				break
			}
			want = append(want, p)
		}
		if err != werr || len(got) != len(want) {
			t.Fatalf("body %q: payload %d/%v, records %d/%v", body, len(got), err, len(want), werr)
		}
		for i := range got {
			if !samePacket(got[i], want[i]) {
				t.Fatalf("body %q packet %d: %+v vs %+v", body, i, got[i], want[i])
			}
		}
		if err != nil {
			return
		}
		var enc []byte
		for i, p := range got {
			if !p.Binary && bytes.IndexByte(p.Data, RecordSeparator) >= 0 {
				t.Fatalf("decoded text packet contains separator")
			}
			enc = AppendPayloadPacket(enc, i == 0, p)
		}
		again, err := decodeAll(t, enc)
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-decode %q: %d packets, %v", enc, len(again), err)
		}
		for i := range got {
			if !samePacket(got[i], again[i]) {
				t.Fatalf("re-decode %q packet %d: %+v vs %+v", enc, i, got[i], again[i])
			}
		}
	})
}
