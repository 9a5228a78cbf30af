//go:build !race

package socketio

import "testing"

func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 512)
	arg := []byte(`{"id":"abc","value":12345,"nested":{"a":[1,2,3]}}`)
	ev := []byte(`2["message",1,"2",{"3":[true]}]`)
	bin := []byte(`51-["up",{"_placeholder":true,"num":0}]`)
	cases := map[string]func(){
		"AppendEvent":        func() { dst = AppendEvent(dst[:0], "/tenant-a", "stream-event", arg) },
		"AppendEventMain":    func() { dst = AppendEvent(dst[:0], "/", "stream-event", arg) },
		"AppendPacket":       func() { dst = AppendPacket(dst[:0], Packet{Type: BinaryAck, AckID: 5, Attachments: 1, Data: arg}) },
		"AppendConnect":      func() { dst = AppendConnect(dst[:0], "/tenant-a", "wZX3oN0bSVIhsaknAAAI") },
		"AppendConnectError": func() { dst = AppendConnectError(dst[:0], "/x", "Invalid namespace", nil) },
		"AppendAck":          func() { dst = AppendAck(dst[:0], "/", 456, arg) },
		"AppendDisconnect":   func() { dst = AppendDisconnect(dst[:0], "/x") },
		"AppendJSONString":   func() { dst = AppendJSONString(dst[:0], "a\"b\n\xffé") },
		"DecodeMain":         func() { _, _ = Decode(ev, 0) },
		"DecodeBinaryMain":   func() { _, _ = Decode(bin, 0) },
		"SplitEventArgs": func() {
			_, _, _ = SplitEvent([]byte(`[1,2]`))
		},
		"ValidatePlaceholders": func() { _ = ValidatePlaceholders(bin[3:], 1) },
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
