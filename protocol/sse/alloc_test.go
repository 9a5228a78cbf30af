//go:build !race

package sse

import (
	"testing"
	"time"
)

func TestAllocs(t *testing.T) {
	dst := make([]byte, 0, 512)
	data := []byte("{\"a\":1}\nline2\r\nline3")
	var p Parser
	stream := []byte("data: abc\n\n")
	_ = p.Feed(stream, func(Event) {}) // warm the buffers
	cases := map[string]func(){
		"AppendEvent":   func() { dst, _ = AppendEvent(dst[:0], "1700000000-42", "stream-event", data) },
		"AppendComment": func() { dst = AppendComment(dst[:0], "heartbeat") },
		"AppendRetry":   func() { dst = AppendRetry(dst[:0], 3*time.Second) },
		"ParserFeed":    func() { _ = p.Feed(stream, func(Event) {}) },
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
