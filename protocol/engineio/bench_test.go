package engineio

import (
	"strconv"
	"testing"
)

var payloadBody = []byte("4test1\x1e4test2\x1ebAQIDBA==\x1e3")

func BenchmarkAppendPacket(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 256)
	data := []byte(`2["stream-event",{"id":"abc","value":12345}]`)
	for b.Loop() {
		dst = AppendPacket(dst[:0], PacketMessage, data)
	}
}

func BenchmarkAppendOpen(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 256)
	for b.Loop() {
		dst = AppendOpen(dst[:0], testHandshake)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	b.ReportAllocs()
	scratch := make([]byte, 0, 64)
	b.SetBytes(int64(len(payloadBody)))
	for b.Loop() {
		scratch, _ = DecodePayload(payloadBody, scratch[:0], func(Packet) error { return nil })
	}
}

func BenchmarkAppendBinaryBase64(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			data := make([]byte, size)
			dst := make([]byte, 0, 2*size)
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = AppendBinaryBase64(dst[:0], data)
			}
		})
	}
}
