package wsframe

import (
	"strconv"
	"testing"

	"github.com/gobwas/ws"
)

func BenchmarkParseHeader(b *testing.B) {
	b.ReportAllocs()
	hdr := []byte{0x81, 0xfe, 0x01, 0x2c, 1, 2, 3, 4}
	for b.Loop() {
		_, _, _ = ParseHeader(hdr, true, 1<<20)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{64, 1024, 65536} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			payload := make([]byte, size)
			dst := make([]byte, 0, size+MaxHeaderSize)
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = AppendFrame(dst[:0], ws.OpText, payload)
			}
		})
	}
}

func BenchmarkUnmask(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				Unmask(payload, [4]byte{1, 2, 3, 4})
			}
		})
	}
}
