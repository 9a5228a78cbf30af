package auth

import (
	"strings"
	"testing"
	"unsafe"
)

func TestInternSharesAndIsBounded(t *testing.T) {
	in := interner{max: 2}
	a := in.intern(strings.Clone("stream-listener"))
	b := in.intern(strings.Clone("stream-listener"))
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("the same name interned twice gave two copies")
	}
	in.intern("r1")
	c := strings.Clone("r3")
	if got := in.intern(c); unsafe.StringData(got) != unsafe.StringData(c) || len(in.m) != 2 {
		t.Fatalf("past max: %d entries, interned a third", len(in.m))
	}
}
