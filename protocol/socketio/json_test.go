package socketio

import (
	"encoding/json"
	"strings"
	"testing"
)

var jsonSeeds = []string{
	``, ` `, `{}`, `[]`, `[1,2]`, `{"a":[true,false,null]}`, `"\u00e9\ud83d\ude00"`, `"\x"`, `"\u12"`,
	`-0`, `-`, `01`, `1.`, `1.5e`, `1e+5`, `1E-5`, `0.0`, `[1,]`, `{"a"}`, `{"a":1,}`, `{,}`, `[,1]`,
	`tru`, `nulls`, " \t\n\r[ ] ", "\"a\x01\"", "\"\xff\"", `[[[[[[]]]]]]`, `{"a":{"b":{}}}`, `"\/"`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

func TestValidJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		_, got := validJSON([]byte(s), -1)
		if want := json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid %v", s, got, want)
		}
	}
}

// FuzzValidJSON checks the hand-written validator against encoding/json.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSeeds[:len(jsonSeeds)-2] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, got := validJSON(b, -1)
		if want := json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
		if got && k == kindString {
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			trimmed := []byte(strings.TrimSpace(string(b)))
			if u := unquote(trimmed); u != s {
				t.Fatalf("unquote(%s) = %q, encoding/json %q", trimmed, u, s)
			}
		}
	})
}
