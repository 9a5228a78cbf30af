package wsframe

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

type headerVector struct {
	name        string
	in          []byte
	requireMask bool
	max         int64
	want        ws.Header
	n           int
	err         error
}

var rfcMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func ext16(n int) []byte { return []byte{0x82, 0x7e, byte(n >> 8), byte(n)} }

var headerVectors = []headerVector{
	// RFC 6455 §5.7 examples.
	{name: "text-unmasked", in: []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'},
		want: ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, n: 2},
	{name: "text-masked", in: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, requireMask: true,
		want: ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: rfcMask, Length: 5}, n: 6},
	{name: "fragment-1", in: []byte{0x01, 0x03, 'H', 'e', 'l'},
		want: ws.Header{OpCode: ws.OpText, Length: 3}, n: 2},
	{name: "fragment-2", in: []byte{0x80, 0x02, 'l', 'o'},
		want: ws.Header{Fin: true, OpCode: ws.OpContinuation, Length: 2}, n: 2},
	{name: "ping", in: []byte{0x89, 0x05, 'H', 'e', 'l', 'l', 'o'},
		want: ws.Header{Fin: true, OpCode: ws.OpPing, Length: 5}, n: 2},
	{name: "pong-masked", in: []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		want: ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Mask: rfcMask, Length: 5}, n: 6},
	{name: "binary-256", in: ext16(256),
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 256}, n: 4},
	{name: "binary-64k", in: []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0},
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 65536}, n: 10},
	{name: "max-int64-unlimited", in: []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1<<63 - 1}, n: 10},
	{name: "control-125", in: []byte{0x88, 0x7d},
		want: ws.Header{Fin: true, OpCode: ws.OpClose, Length: 125}, n: 2},
	{name: "non-minimal-16", in: ext16(5),
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 5}, n: 4},
	{name: "at-limit", in: ext16(1000), max: 1000,
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1000}, n: 4},
	// Errors.
	{name: "empty", in: nil, err: ErrShort},
	{name: "one-byte", in: []byte{0x81}, err: ErrShort},
	{name: "short-16", in: []byte{0x82, 0x7e, 0x01}, err: ErrShort},
	{name: "short-64", in: []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0}, err: ErrShort},
	{name: "short-mask", in: []byte{0x81, 0x85, 0x37, 0xfa, 0x21}, err: ErrShort},
	{name: "max-int64-limited", in: []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, max: 1 << 20,
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1<<63 - 1}, n: 10, err: ErrTooLarge},
	{name: "over-limit", in: ext16(1001), max: 1000,
		want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1001}, n: 4, err: ErrTooLarge},
	{name: "len64-msb", in: []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, err: ErrProtocol},
	{name: "rsv1", in: []byte{0xc1, 0x05}, err: ErrProtocol},
	{name: "rsv3", in: []byte{0x91, 0x05}, err: ErrProtocol},
	{name: "opcode-3", in: []byte{0x83, 0x00}, err: ErrProtocol},
	{name: "opcode-b", in: []byte{0x8b, 0x00}, err: ErrProtocol},
	{name: "control-fragmented", in: []byte{0x09, 0x00}, err: ErrProtocol},
	{name: "control-126", in: []byte{0x89, 0x7e}, err: ErrProtocol},
	{name: "unmasked-client", in: []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, requireMask: true, err: ErrProtocol},
}

func TestParseHeader(t *testing.T) {
	for _, tc := range headerVectors {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in, tc.requireMask, tc.max)
			if !errors.Is(err, tc.err) || h != tc.want || n != tc.n {
				t.Fatalf("ParseHeader(% x) = %+v, %d, %v; want %+v, %d, %v", tc.in, h, n, err, tc.want, tc.n, tc.err)
			}
			if err != nil {
				return
			}
			// Encoder side of the same vector.
			if got := AppendHeader(nil, tc.want); tc.name != "non-minimal-16" && !bytes.Equal(got, tc.in[:n]) {
				t.Fatalf("AppendHeader(%+v) = % x, want % x", tc.want, got, tc.in[:n])
			}
		})
	}
}

func TestAppendFrames(t *testing.T) {
	hello := []byte("Hello")
	if got, want := AppendFrame(nil, ws.OpText, hello), []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}; !bytes.Equal(got, want) {
		t.Errorf("AppendFrame = % x, want % x", got, want)
	}
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if got := AppendMaskedFrame(nil, ws.OpText, hello, rfcMask); !bytes.Equal(got, want) {
		t.Errorf("AppendMaskedFrame = % x, want % x", got, want)
	}
	if string(hello) != "Hello" {
		t.Errorf("AppendMaskedFrame modified its payload")
	}
	big := bytes.Repeat([]byte{7}, 70000)
	f := AppendFrame(nil, ws.OpBinary, big)
	h, n, err := ParseHeader(f, false, 0)
	if err != nil || n != 10 || h.Length != 70000 || !bytes.Equal(f[n:], big) {
		t.Errorf("64-bit frame: %+v %d %v", h, n, err)
	}
	// Must match gobwas/ws's own encoder.
	for _, size := range []int{0, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte{1}, size)
		cf, err := ws.CompileFrame(ws.NewBinaryFrame(p))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFrame(nil, ws.OpBinary, p); !bytes.Equal(got, cf) {
			t.Errorf("size %d: AppendFrame differs from ws.CompileFrame", size)
		}
	}
}

func TestUnmask(t *testing.T) {
	p := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	Unmask(p, rfcMask)
	if string(p) != "Hello" {
		t.Fatalf("Unmask = %q", p)
	}
	// Chunked unmasking gives the same result.
	long := bytes.Repeat([]byte("0123456789abcdef"), 5)
	masked := AppendMaskedFrame(nil, ws.OpBinary, long, rfcMask)[2+4:]
	for split := 0; split <= len(masked); split++ {
		c := append([]byte(nil), masked...)
		UnmaskAt(c[:split], rfcMask, 0)
		UnmaskAt(c[split:], rfcMask, int64(split))
		if !bytes.Equal(c, long) {
			t.Fatalf("split %d: %q", split, c)
		}
	}
}

func TestClose(t *testing.T) {
	if got, want := AppendClose(nil, ws.StatusNormalClosure, ""), []byte{0x88, 0x02, 0x03, 0xe8}; !bytes.Equal(got, want) {
		t.Errorf("AppendClose = % x, want % x", got, want)
	}
	if got, want := AppendClose(nil, 0, "ignored"), []byte{0x88, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("AppendClose(0) = % x, want % x", got, want)
	}
	got := AppendClose(nil, ws.StatusMessageTooBig, "too big")
	h, payload, n, err := ParseFrame(got, false, 0)
	if err != nil || n != len(got) || h.OpCode != ws.OpClose {
		t.Fatalf("ParseFrame(close) = %+v %d %v", h, n, err)
	}
	code, reason, err := ParseClose(payload)
	if err != nil || code != ws.StatusMessageTooBig || string(reason) != "too big" {
		t.Fatalf("ParseClose = %d %q %v", code, reason, err)
	}
	// Long reasons are cut at a rune boundary and stay a valid control frame.
	long := string(bytes.Repeat([]byte("é"), 100))
	f := AppendClose(nil, 4000, long)
	h, payload, _, err = ParseFrame(f, false, 0)
	if err != nil || h.Length > MaxControlPayload {
		t.Fatalf("long close: %+v %v", h, err)
	}
	if _, reason, err := ParseClose(payload); err != nil || len(reason) != 122 {
		t.Fatalf("long close reason: %d %v", len(reason), err)
	}
	for _, tc := range []struct {
		payload []byte
		code    ws.StatusCode
		err     error
	}{
		{payload: nil, code: ws.StatusNoStatusRcvd},
		{payload: []byte{0x03}, err: ErrProtocol},
		{payload: []byte{0x03, 0xed}, code: 1005, err: ErrProtocol},
		{payload: []byte{0x03, 0xee}, code: 1006, err: ErrProtocol},
		{payload: []byte{0x03, 0xf4}, code: 1012},
		{payload: []byte{0x03, 0xe7}, err: ErrProtocol},
		{payload: []byte{0x13, 0x88}, err: ErrProtocol},
		{payload: []byte{0x0f, 0xa0, 0xff}, err: ErrProtocol},
	} {
		code, _, err := ParseClose(tc.payload)
		if !errors.Is(err, tc.err) || (err == nil && code != tc.code) {
			t.Errorf("ParseClose(% x) = %d, %v; want %d, %v", tc.payload, code, err, tc.code, tc.err)
		}
	}
}

func TestAppendAccept(t *testing.T) {
	// RFC 6455 §1.3.
	if got := string(AppendAccept(nil, []byte("dGhlIHNhbXBsZSBub25jZQ=="))); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AppendAccept = %s", got)
	}
}

func TestParseFrame(t *testing.T) {
	in := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x89}
	for i := 0; i < 11; i++ {
		if _, _, _, err := ParseFrame(in[:i], true, 0); err != ErrShort {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	h, p, n, err := ParseFrame(in, true, 0)
	if err != nil || n != 11 || string(p) != "Hello" || !h.Fin {
		t.Fatalf("ParseFrame = %+v %q %d %v", h, p, n, err)
	}
}
