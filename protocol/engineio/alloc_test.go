//go:build !race

package engineio

import "testing"

func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 512)
	scratch := make([]byte, 0, 64)
	data := []byte(`2["stream-event",{"a":1}]`)
	bin := []byte{1, 2, 3, 4, 5, 6}
	cases := map[string]func(){
		"AppendPacket":       func() { dst = AppendPacket(dst[:0], PacketMessage, data) },
		"AppendBinaryBase64": func() { dst = AppendBinaryBase64(dst[:0], bin) },
		"AppendOpen":         func() { dst = AppendOpen(dst[:0], testHandshake) },
		"AppendError":        func() { dst = AppendError(dst[:0], ErrSessionIDUnknown) },
		"DecodePacket": func() {
			_, scratch, _ = DecodePacket([]byte("bAQIDBA=="), scratch[:0])
		},
		"DecodePayload": func() {
			scratch, _ = DecodePayload(payloadBody, scratch[:0], func(Packet) error { return nil })
		},
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
