package sse

import (
	"bytes"
	"strconv"
	"testing"
)

func BenchmarkAppendEvent(b *testing.B) {
	for _, lines := range []int{1, 10} {
		b.Run("lines="+strconv.Itoa(lines), func(b *testing.B) {
			b.ReportAllocs()
			data := bytes.Repeat([]byte(`{"id":"abc","value":12345}`+"\n"), lines)
			data = data[:len(data)-1]
			dst := make([]byte, 0, 2*len(data)+128)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				dst, _ = AppendEvent(dst[:0], "1700000000-42", "stream-event", data)
			}
		})
	}
}

func BenchmarkParserFeed(b *testing.B) {
	b.ReportAllocs()
	stream, _ := AppendEvent(nil, "", "stream-event", []byte(`{"id":"abc","value":12345}`))
	var p Parser
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		_ = p.Feed(stream, func(Event) {})
	}
}
