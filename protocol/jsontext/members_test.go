package jsontext

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestMembers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][2]string
	}{
		{`{}`, nil},
		{` { } `, nil},
		{`{"a":1}`, [][2]string{{"a", "1"}}},
		{`{"a":"x\"}","b":{"c":[1,"]",{"d":"}"}]},"e":null , "f" : true,"g":-1.5e3}`,
			[][2]string{{"a", `"x\"}"`}, {"b", `{"c":[1,"]",{"d":"}"}]}`}, {"e", "null"}, {"f", "true"}, {"g", "-1.5e3"}}},
		{`{"k\"ey":[]}`, [][2]string{{`k\"ey`, "[]"}}},
		{`[1]`, nil},
		{`{"a":1,`, [][2]string{{"a", "1"}}},
		{`{"a":{"b":1}`, [][2]string{{"a", `{"b":1}`}}},
		{`{"a":{"b":1`, nil},
		{`{"a"`, nil},
		{`{"a":`, nil},
	} {
		var got [][2]string
		for k, v := range Members([]byte(tc.in)) {
			got = append(got, [2]string{string(k), string(v)})
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %q, want %q", tc.in, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: got %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}

// For any valid JSON object, Members yields what encoding/json decodes into raw members, in
// order; for any input, it never panics.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"tenantId":"t","context":{"a":[1,2,{"b":"}"}]},"payload":{"x":"\"y"}}`))
	f.Add([]byte(` {"a" : 1 , "b" : [ ] } `))
	f.Add([]byte(`{"a":"\\"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var keys []string
		var values []string
		for k, v := range Members(b) {
			keys = append(keys, string(k))
			values = append(values, string(v))
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || !json.Valid(b) {
			return
		}
		var order []string
		dec := json.NewDecoder(bytesReader(b))
		dec.UseNumber()
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return // valid JSON but not an object ("null")
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, tok.(string))
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
		}
		if len(keys) != len(order) {
			t.Fatalf("%q: %d members yielded, %d decoded", b, len(keys), len(order))
		}
		for i, k := range keys {
			var decoded string
			if err := json.Unmarshal([]byte(`"`+k+`"`), &decoded); err != nil || decoded != order[i] {
				t.Fatalf("%q: key %d is %q, decoded %q", b, i, k, order[i])
			}
			if !json.Valid([]byte(values[i])) {
				t.Fatalf("%q: value of %q is %q, not one JSON value", b, k, values[i])
			}
			if last := m[order[i]]; i == lastIndex(order, order[i]) && compact(t, last) != compact(t, []byte(values[i])) {
				t.Fatalf("%q: value of %q is %q, decoded %q", b, k, values[i], last)
			}
		}
	})
}

func BenchmarkMembers(b *testing.B) {
	obj := []byte(`{"tenantId":"urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa","namespace":"bench","name":"one","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c-1","context":{"a":1},"payload":{"seq":1,"data":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}`)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for k, v := range Members(obj) {
			n += len(k) + len(v)
		}
		if n == 0 {
			b.Fatal("no members")
		}
	}
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

func compact(t *testing.T, raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
