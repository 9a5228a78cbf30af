package wsframe

import (
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

func TestReassembler(t *testing.T) {
	var r Reassembler
	r.MaxSize = 10
	push := func(op ws.OpCode, fin bool, p string) (ws.OpCode, string, bool, error) {
		o, m, d, err := r.Push(ws.Header{OpCode: op, Fin: fin, Length: int64(len(p))}, []byte(p))
		return o, string(m), d, err
	}
	// RFC example: "Hel" + "lo" with a ping in between.
	if _, _, done, err := push(ws.OpText, false, "Hel"); done || err != nil {
		t.Fatal(done, err)
	}
	if op, m, done, err := push(ws.OpPing, true, "p"); !done || err != nil || op != ws.OpPing || m != "p" {
		t.Fatal("ping passthrough", op, m, done, err)
	}
	if !r.InMessage() {
		t.Fatal("InMessage false mid-message")
	}
	if op, m, done, err := push(ws.OpContinuation, true, "lo"); !done || err != nil || op != ws.OpText || m != "Hello" {
		t.Fatal("final", op, m, done, err)
	}
	if op, m, done, err := push(ws.OpBinary, true, "\x01\x02"); !done || err != nil || op != ws.OpBinary || m != "\x01\x02" {
		t.Fatal("unfragmented", op, m, done, err)
	}
	if _, _, _, err := push(ws.OpContinuation, true, "x"); !errors.Is(err, ErrProtocol) {
		t.Fatal("stray continuation:", err)
	}
	push(ws.OpText, false, "a")
	if _, _, _, err := push(ws.OpText, true, "b"); !errors.Is(err, ErrProtocol) {
		t.Fatal("new message inside message:", err)
	}
	r.Reset()
	push(ws.OpText, false, "123456")
	if _, _, _, err := push(ws.OpContinuation, true, "78901"); !errors.Is(err, ErrTooLarge) {
		t.Fatal("cap:", err)
	}
	if _, _, _, err := push(ws.OpText, true, "12345678901"); !errors.Is(err, ErrTooLarge) {
		t.Fatal("cap single:", err)
	}
	if op, m, done, err := push(ws.OpText, true, "1234567890"); !done || err != nil || op != ws.OpText || m != "1234567890" {
		t.Fatal("at cap", op, m, done, err)
	}
}
