package wsframe

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// FuzzParseHeader feeds every prefix of the input: each must give ErrShort
// or exactly the result of the whole input, and the first non-short result
// must not change as more bytes arrive. Accepted headers must re-encode to a
// header that parses back to the same value.
func FuzzParseHeader(f *testing.F) {
	for _, tc := range headerVectors {
		f.Add(tc.in, tc.requireMask, tc.max)
	}
	f.Fuzz(func(t *testing.T, in []byte, requireMask bool, max int64) {
		h, n, err := ParseHeader(in, requireMask, max)
		for k := 0; k <= len(in); k++ {
			hk, nk, errk := ParseHeader(in[:k], requireMask, max)
			if errk == ErrShort {
				if err != ErrShort && k >= n && n > 0 {
					t.Fatalf("prefix %d of % x short but whole needs %d", k, in, n)
				}
				continue
			}
			if errk != err || hk != h || nk != n {
				t.Fatalf("prefix %d of % x: %+v %d %v; whole: %+v %d %v", k, in, hk, nk, errk, h, n, err)
			}
		}
		if err != nil {
			return
		}
		enc := AppendHeader(nil, h)
		if len(enc) > n || len(enc) != ws.HeaderSize(h) {
			t.Fatalf("re-encoded header % x longer than % x", enc, in[:n])
		}
		h2, n2, err := ParseHeader(enc, requireMask, max)
		if err != nil || h2 != h || n2 != len(enc) {
			t.Fatalf("re-parse % x: %+v %d %v, want %+v", enc, h2, n2, err, h)
		}
	})
}

// FuzzFrameRoundTrip checks AppendFrame/AppendMaskedFrame against ParseFrame,
// also with the frame split in two chunks.
func FuzzFrameRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), byte(1), true, []byte{0x37, 0xfa, 0x21, 0x3d})
	f.Add(bytes.Repeat([]byte{9}, 300), byte(2), false, []byte{1, 2, 3, 4})
	f.Add([]byte{}, byte(9), true, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, payload []byte, op byte, masked bool, m []byte) {
		opc := ws.OpCode(op & 0x0f)
		if opc.IsReserved() || (opc.IsControl() && len(payload) > MaxControlPayload) {
			return
		}
		var mask [4]byte
		copy(mask[:], m)
		var frame []byte
		if masked {
			frame = AppendMaskedFrame(nil, opc, payload, mask)
		} else {
			frame = AppendFrame(nil, opc, payload)
		}
		for split := 0; split < len(frame); split++ {
			if _, _, _, err := ParseFrame(frame[:split], masked, 0); err != ErrShort {
				t.Fatalf("split %d: %v", split, err)
			}
		}
		h, p, n, err := ParseFrame(frame, masked, int64(len(payload)))
		if err != nil || n != len(frame) || h.OpCode != opc || !h.Fin || !bytes.Equal(p, payload) {
			t.Fatalf("ParseFrame: %+v %q %d %v", h, p, n, err)
		}
	})
}
