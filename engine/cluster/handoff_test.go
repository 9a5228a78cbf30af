package cluster

import (
	"bytes"
	"testing"
)

// parseHandoff reads back what appendHandoff wrote, and any other input is either rejected or
// parsed within bounds (it comes from another local process, but a bug there must not crash us).
func FuzzParseHandoff(f *testing.F) {
	f.Add("127.0.0.1:5000", []byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n\r\n"))
	f.Add("", []byte{})
	f.Add("[::1]:1", []byte{0xff, 0x80})
	f.Fuzz(func(t *testing.T, remote string, head []byte) {
		msg := appendHandoff(nil, remote, head)
		r, h, ok := parseHandoff(msg)
		if !ok || r != remote || !bytes.Equal(h, head) {
			t.Fatalf("round trip: %q %q %v, want %q %q", r, h, ok, remote, head)
		}
		// The raw bytes as a message of their own.
		if r, h, ok := parseHandoff(head); ok && len(r)+len(h) > len(head) {
			t.Fatalf("parsed %d+%d bytes out of %d", len(r), len(h), len(head))
		}
	})
}

func TestParseHandoffRejectsTruncated(t *testing.T) {
	msg := appendHandoff(nil, "127.0.0.1:5000", []byte("GET / HTTP/1.1\r\n\r\n"))
	for _, bad := range [][]byte{nil, {0x80}, msg[:5]} {
		if _, _, ok := parseHandoff(bad); ok {
			t.Errorf("parseHandoff(%q) accepted a truncated message", bad)
		}
	}
}
