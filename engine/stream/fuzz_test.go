package stream

import (
	"encoding/json"
	"testing"
)

func FuzzParseCriteria(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"correlationId":"x","context":{"a":1,"b":"s","c":true,"d":null}}`,
		`{"context":{"a":{}}}`, `[1]`, `{"a":[[[[[[[[[]]]]]]]]]}`, `{"context":{"\u0061":"\ud83d\ude00"}}`} {
		f.Add([]byte(s), []byte(`{"correlationId":"x","context":{"a":1,"b":"s"}}`))
	}
	f.Fuzz(func(t *testing.T, criteria, item []byte) {
		c, err := ParseCriteria(criteria)
		if err != nil {
			if c != nil {
				t.Fatal("criteria returned with an error")
			}
			return
		}
		if len(criteria) > MaxCriteriaBytes {
			t.Fatal("oversized criteria accepted")
		}
		c.Match(item) // must not panic on any item
	})
}

func FuzzPathResolve(f *testing.F) {
	for _, p := range []string{"payload.items[0].id", `a["b.c"]`, "a..b", "[0]", "a[", `a['x\'y']`, ".", ""} {
		f.Add(p, []byte(`{"payload":{"items":[{"id":1}]},"a":{"b.c":[true]}}`))
	}
	f.Fuzz(func(t *testing.T, p string, doc []byte) {
		if len(p) > maxPathLen {
			return
		}
		vs, ve, ok := compilePath(p).resolve(doc)
		if !ok {
			return
		}
		if vs < 0 || ve > len(doc) || vs >= ve {
			t.Fatalf("bad bounds %d:%d of %d", vs, ve, len(doc))
		}
		if json.Valid(doc) && !json.Valid(doc[vs:ve]) {
			t.Fatalf("resolved fragment %q of valid document is not valid JSON", doc[vs:ve])
		}
	})
}

func FuzzProjection(f *testing.F) {
	f.Add(`{"a":"payload.a","name":"payload.b[0]","1":"timestamp"}`, []byte(`{"tenantId":"t","namespace":"n","name":"e","payload":{"a":1,"b":["x"]}}`))
	f.Fuzz(func(t *testing.T, m string, doc []byte) {
		if !json.Valid([]byte(m)) || len(m) == 0 || m[0] != '{' {
			return
		}
		p, err := compileProjection([]byte(m))
		if err != nil || p == nil {
			return
		}
		out := p.project(doc)
		if json.Valid(doc) && !json.Valid(out) {
			t.Fatalf("projection %s of %s gave invalid JSON %s", m, doc, out)
		}
	})
}
