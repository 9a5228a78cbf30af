package kafka

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPositionRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	cases := []Position{{}, {0: 0}, {0: 1, 1: 2, 2: 3}, {7: 1 << 40, 100: 5}, {0: 1 << 62}}
	for i := 0; i < 200; i++ {
		p := Position{}
		for n := r.IntN(20); n > 0; n-- {
			p[r.IntN(1000)] = r.Int64N(1 << 50)
		}
		cases = append(cases, p)
	}
	for _, p := range cases {
		id := EncodePosition(p)
		if strings.ContainsAny(id, "+/=") {
			t.Fatalf("id %q is not URL-safe", id)
		}
		got, err := DecodePosition(id)
		if err != nil {
			t.Fatalf("DecodePosition(%q) of %v: %v", id, p, err)
		}
		if len(got) != len(p) || !got.Covers(p) || !p.Covers(got) {
			t.Fatalf("round trip %v -> %q -> %v", p, id, got)
		}
	}
	if id := EncodePosition(Position{0: 12, 1: 7, 2: 300}); len(id) > 14 {
		t.Fatalf("3-partition id %q is not compact", id)
	}
}

func TestDecodePositionRejects(t *testing.T) {
	good := EncodePosition(Position{0: 1, 2: 3})
	for _, id := range []string{
		"", "1700000000-5", "!!!!", good + "A", good[:len(good)-1],
		posEncoding.EncodeToString([]byte{2, 0, 0}),                      // version
		posEncoding.EncodeToString([]byte{1, 0, 2, 0, 1, 0, 1}),          // duplicate partition
		posEncoding.EncodeToString([]byte{1, 0, 0xff, 0xff, 0xff, 0x7f}), // count too large
		posEncoding.EncodeToString([]byte{1, 5, 1, 0, 1}),                // own partition not in the vector
		strings.Repeat("A", 100000),
	} {
		if _, err := DecodePosition(id); !errors.Is(err, ErrBadPosition) {
			t.Errorf("DecodePosition(%.40q) = %v", id, err)
		}
	}
}

func TestEventPosition(t *testing.T) {
	vec := []entry{{0, 12}, {1, 7}, {2, 300}}
	id := string(appendPosition(nil, vec, 1))
	pos, part, off, err := EventPosition(id)
	if err != nil || part != 1 || off != 6 || len(pos) != 3 || pos[2] != 300 {
		t.Fatalf("EventPosition(%q) = %v %d %d %v", id, pos, part, off, err)
	}
	if p, err := DecodePosition(id); err != nil || len(p) != 3 {
		t.Fatalf("DecodePosition(event id) = %v %v", p, err)
	}
	if _, _, _, err := EventPosition(EncodePosition(pos)); !errors.Is(err, ErrBadPosition) {
		t.Fatalf("EventPosition of a plain position = %v", err)
	}
	from := Position{1: 7}
	if !from.Contains(1, 6) || from.Contains(1, 7) || from.Contains(2, 0) {
		t.Fatal("Contains")
	}
}

func FuzzDecodePosition(f *testing.F) {
	f.Add(EncodePosition(Position{0: 1, 2: 3}))
	f.Add("1700000000-5")
	f.Fuzz(func(t *testing.T, id string) {
		p, err := DecodePosition(id)
		if err != nil {
			return
		}
		again, err := DecodePosition(EncodePosition(p))
		if err != nil || len(again) != len(p) || !again.Covers(p) || !p.Covers(again) {
			t.Fatalf("re-encode of %v: %v %v", p, again, err)
		}
	})
}
