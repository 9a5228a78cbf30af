package stream

import (
	"slices"
	"testing"
)

// Expected values are lodash _.toPath / castPath results.
func TestCompilePath(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"timestamp", []string{"timestamp"}},
		{"payload.jobId", []string{"payload", "jobId"}},
		{"payload.items[0].id", []string{"payload", "items", "0", "id"}},
		{"a[0][1]", []string{"a", "0", "1"}},
		{`a["b.c"]`, []string{"a", "b.c"}},
		{`a['b]c'].d`, []string{"a", "b]c", "d"}},
		{`a["x\"y"]`, []string{"a", `x"y`}},
		{"a[ 1 ]", []string{"a", "1"}},
		{"a..b", []string{"a", "", "b"}},
		{".a", []string{"", "a"}},
		{"a.", []string{"a", ""}},
		{"a[]", []string{"a", ""}},
		{"a-b", []string{"a-b"}},
		{"a[", []string{"a["}},
		{"a]", []string{"a]"}},
		{"", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for _, s := range compilePath(tt.in).segs {
				got = append(got, s.key)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("compilePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPathResolve(t *testing.T) {
	doc := `{"a":{"b":[10,{"c":"x"},[true]],"0":"zero","":"empty","d.e":1},"n":null,"dup":1,"dup":2, "s":"str" }`
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"a.b[0]", "10", true},
		{"a.b.0", "10", true},
		{"a.b[1].c", `"x"`, true},
		{"a.b[2][0]", "true", true},
		{"a.b[3]", "", false},
		{"a.b[-1]", "", false},
		{"a.b[01]", "", false},
		{"a.0", `"zero"`, true},
		{"a[0]", `"zero"`, true},
		{`a["d.e"]`, "1", true},
		{"a.d.e", "", false},
		{"a.", `"empty"`, true},
		{"n", "null", true},
		{"n.x", "", false},
		{"dup", "2", true},
		{"s", `"str"`, true},
		{"s.length", "", false},
		{"missing", "", false},
		{"a", `{"b":[10,{"c":"x"},[true]],"0":"zero","":"empty","d.e":1}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			vs, ve, ok := compilePath(tt.path).resolve([]byte(doc))
			if ok != tt.ok || (ok && doc[vs:ve] != tt.want) {
				t.Fatalf("resolve(%q) = %q,%v want %q,%v", tt.path, doc[vs:ve], ok, tt.want, tt.ok)
			}
		})
	}
}
