//go:build !race

package wsframe

import (
	"testing"

	"github.com/gobwas/ws"
)

func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 1024)
	payload := make([]byte, 300)
	hdr := []byte{0x81, 0xfe, 0x01, 0x2c, 1, 2, 3, 4}
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	var r Reassembler
	cases := map[string]func(){
		"ParseHeader":       func() { _, _, _ = ParseHeader(hdr, true, 1<<20) },
		"AppendFrame":       func() { dst = AppendFrame(dst[:0], ws.OpText, payload) },
		"AppendMaskedFrame": func() { dst = AppendMaskedFrame(dst[:0], ws.OpText, payload, [4]byte{1, 2, 3, 4}) },
		"AppendClose":       func() { dst = AppendClose(dst[:0], ws.StatusGoingAway, "bye") },
		"AppendAccept":      func() { dst = AppendAccept(dst[:0], key) },
		"Unmask":            func() { Unmask(payload, [4]byte{1, 2, 3, 4}) },
		"ReassemblerSingle": func() { _, _, _, _ = r.Push(ws.Header{Fin: true, OpCode: ws.OpText}, payload) },
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
