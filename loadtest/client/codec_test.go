package client

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseStamp(t *testing.T) {
	tests := []struct {
		in   string
		want Stamp
		ok   bool
	}{
		{`{"payload":{"sentAt":123,"seq":4,"step":2,"pad":"x"}}`, Stamp{123, 4, 2}, true},
		{`{"sentAt": 99}`, Stamp{SentAt: 99}, true},
		{`{"seq":4}`, Stamp{}, false},
		{`{"sentAt":"x"}`, Stamp{}, false},
		{``, Stamp{}, false},
	}
	for _, tc := range tests {
		got, ok := ParseStamp([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseStamp(%s) = %+v,%v want %+v,%v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseHead(t *testing.T) {
	tests := []struct {
		in      string
		status  int
		n       int
		cl      int64
		chunked bool
		err     error
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, 38, 2, false, nil},
		{"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", 200, 47, -1, true, nil},
		{"HTTP/1.1 101 Switching\r\n", 0, 0, 0, false, nil},
		{"FOO\r\n\r\n", 0, 0, 0, false, ErrProtocol},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, 0, false, ErrProtocol},
	}
	for _, tc := range tests {
		h, n, err := parseHead([]byte(tc.in))
		if !errors.Is(err, tc.err) || n != tc.n || (n > 0 && (h.status != tc.status || h.contentLength != tc.cl || h.chunked != tc.chunked)) {
			t.Errorf("parseHead(%q) = %+v, %d, %v", tc.in, h, n, err)
		}
	}
}

func TestDechunkSplitAnywhere(t *testing.T) {
	wire := "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n"
	for cut := 0; cut <= len(wire); cut++ {
		var d dechunk
		var got bytes.Buffer
		fn := func(b []byte) error { got.Write(b); return nil }
		if err := d.feed([]byte(wire[:cut]), fn); err != nil {
			t.Fatal(err)
		}
		if err := d.feed([]byte(wire[cut:]), fn); err != nil {
			t.Fatal(err)
		}
		if got.String() != "hello 0123456789" || !d.done {
			t.Fatalf("cut %d: %q done=%v", cut, got.String(), d.done)
		}
	}
	var d dechunk
	if err := d.feed([]byte("zz\r\n"), func([]byte) error { return nil }); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad size: %v", err)
	}
}

func TestTrack(t *testing.T) {
	tests := []struct {
		name                     string
		seqs                     []int64
		distinct, dup, ooo, gaps int64
		has, hasNot              int64
	}{
		{"in order", []int64{5, 6, 7}, 3, 0, 0, 0, 6, 8},
		{"dup and reorder", []int64{1, 3, 3, 2}, 3, 1, 1, 0, 2, 4},
		{"gap", []int64{10, 12, 200}, 3, 0, 0, 188, 200, 11},
		{"below base", []int64{130, 1, 64}, 3, 0, 2, 127, 1, 2},
	}
	for _, tc := range tests {
		var tr Track
		for _, s := range tc.seqs {
			tr.Add(s)
		}
		if tr.Distinct() != tc.distinct || tr.Dup != tc.dup || tr.OOO != tc.ooo || tr.Gaps() != tc.gaps || !tr.Has(tc.has) || tr.Has(tc.hasNot) {
			t.Errorf("%s: distinct %d dup %d ooo %d gaps %d", tc.name, tr.Distinct(), tr.Dup, tr.OOO, tr.Gaps())
		}
	}
}
