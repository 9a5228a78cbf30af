package jsontext

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendStringVectors(t *testing.T) {
	for in, want := range map[string]string{
		"":             `""`,
		"plain":        `"plain"`,
		`q"b\`:         `"q\"b\\"`,
		"<a&b>":        `"<a&b>"`,
		"n\nr\rt\t":    `"n\nr\rt\t"`,
		"\b\f\x01\x1f": `"\b\f\u0001\u001f"`,
		"é\u2028":      "\"é\u2028\"",
		"a\xffb":       `"a\ufffdb"`,
	} {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// Whatever the input, the output is valid JSON that decodes back to the input (after invalid
// UTF-8 is replaced).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "x", "\x00", "\"\\", "é", "\xff", "\u2028<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

func TestAppendStringAllocs(t *testing.T) {
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { _ = AppendString(dst[:0], "hello \"world\"\n") }); n != 0 {
		t.Fatalf("allocs = %v", n)
	}
}
