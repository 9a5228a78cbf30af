package engineio

import (
	"bytes"
	"errors"
	"testing"
)

// packetVectors is shared by the decoder and encoder tests (text form).
var packetVectors = []struct {
	name string
	text string
	want Packet
	err  error
}{
	{name: "open", text: `0{"sid":"x"}`, want: Packet{Type: PacketOpen, Data: []byte(`{"sid":"x"}`)}},
	{name: "close", text: "1", want: Packet{Type: PacketClose}},
	{name: "ping", text: "2", want: Packet{Type: PacketPing}},
	{name: "probe", text: "2probe", want: Packet{Type: PacketPing, Data: []byte("probe")}},
	{name: "pong", text: "3probe", want: Packet{Type: PacketPong, Data: []byte("probe")}},
	{name: "message", text: "4hello", want: Packet{Type: PacketMessage, Data: []byte("hello")}},
	{name: "socketio", text: `42["message",1]`, want: Packet{Type: PacketMessage, Data: []byte(`2["message",1]`)}},
	{name: "upgrade", text: "5", want: Packet{Type: PacketUpgrade}},
	{name: "noop", text: "6", want: Packet{Type: PacketNoop}},
	{name: "binary", text: "bAQIDBA==", want: Packet{Type: PacketMessage, Data: []byte{1, 2, 3, 4}, Binary: true}},
	{name: "binary-empty", text: "b", want: Packet{Type: PacketMessage, Data: []byte{}, Binary: true}},
	{name: "binary-3", text: "bAQID", want: Packet{Type: PacketMessage, Data: []byte{1, 2, 3}, Binary: true}},
}

var badPackets = []struct {
	name string
	text string
	err  error
}{
	{name: "empty", text: "", err: ErrEmptyPacket},
	{name: "abc", text: "abc", err: ErrUnknownPacket},
	{name: "seven", text: "7", err: ErrUnknownPacket},
	{name: "slash", text: "/", err: ErrUnknownPacket},
	{name: "bad-base64", text: "b!!!!", err: ErrBadBase64},
	{name: "bad-padding", text: "bAQIDB=", err: ErrBadBase64},
	{name: "B-upper", text: "BAQID", err: ErrUnknownPacket},
}

func samePacket(a, b Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func TestDecodePacket(t *testing.T) {
	for _, tc := range packetVectors {
		t.Run(tc.name, func(t *testing.T) {
			scratch := []byte("keep")
			p, s, err := DecodePacket([]byte(tc.text), scratch)
			if err != nil {
				t.Fatalf("DecodePacket(%q): %v", tc.text, err)
			}
			if !samePacket(p, tc.want) {
				t.Fatalf("DecodePacket(%q) = %+v, want %+v", tc.text, p, tc.want)
			}
			if string(s[:4]) != "keep" {
				t.Fatalf("scratch prefix overwritten: %q", s)
			}
		})
	}
	for _, tc := range badPackets {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			_, s, err := DecodePacket([]byte(tc.text), []byte("keep"))
			if !errors.Is(err, tc.err) {
				t.Fatalf("DecodePacket(%q) err = %v, want %v", tc.text, err, tc.err)
			}
			if string(s) != "keep" {
				t.Fatalf("scratch after error = %q, want %q", s, "keep")
			}
		})
	}
}

func TestAppendPacketText(t *testing.T) {
	for _, tc := range packetVectors {
		if tc.name == "binary-3" {
			continue // unpadded input, the encoder always pads
		}
		got := AppendPacketText([]byte("x"), tc.want)
		if string(got) != "x"+tc.text {
			t.Errorf("%s: AppendPacketText = %q, want %q", tc.name, got, "x"+tc.text)
		}
	}
	if got := string(AppendPacket(nil, PacketMessage, []byte("hello"))); got != "4hello" {
		t.Errorf("AppendPacket = %q", got)
	}
	if got := string(AppendBinaryBase64(nil, []byte{1, 2, 3, 4})); got != "bAQIDBA==" {
		t.Errorf("AppendBinaryBase64 = %q", got)
	}
}

func TestPacketTypeString(t *testing.T) {
	names := map[PacketType]string{PacketOpen: "open", PacketClose: "close", PacketPing: "ping",
		PacketPong: "pong", PacketMessage: "message", PacketUpgrade: "upgrade", PacketNoop: "noop", 'x': "unknown"}
	for pt, want := range names {
		if pt.String() != want {
			t.Errorf("%q.String() = %q, want %q", byte(pt), pt.String(), want)
		}
	}
	if p := BinaryPacket([]byte{9}); !p.Binary || p.Type != PacketMessage {
		t.Errorf("BinaryPacket = %+v", p)
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, tc := range packetVectors {
		f.Add([]byte(tc.text))
	}
	for _, tc := range badPackets {
		f.Add([]byte(tc.text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p, _, err := DecodePacket(text, nil)
		if err != nil {
			return
		}
		// Re-encoding must decode to the same packet.
		enc := AppendPacketText(nil, p)
		q, _, err := DecodePacket(enc, nil)
		if err != nil {
			t.Fatalf("re-decode of %q (from %q): %v", enc, text, err)
		}
		if !samePacket(p, q) {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v", text, p, enc, q)
		}
	})
}

func FuzzBinaryRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4})
	f.Add([]byte{0x1e, 0xff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		enc := AppendBinaryBase64(nil, data)
		if bytes.IndexByte(enc, RecordSeparator) >= 0 {
			t.Fatalf("encoding %q contains the record separator", enc)
		}
		p, _, err := DecodePacket(enc, []byte("pre"))
		if err != nil || !p.Binary || !bytes.Equal(p.Data, data) {
			t.Fatalf("decode(%q) = %+v, %v; want %x", enc, p, err, data)
		}
	})
}
