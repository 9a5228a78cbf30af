package engineio

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
	}
}

var testHandshake = Handshake{
	SID:          "lv_VI97HAXpY6yYWAAAC",
	Upgrades:     []string{"websocket"},
	PingInterval: 25 * time.Second,
	PingTimeout:  20 * time.Second,
	MaxPayload:   1000000,
}

func TestAppendOpen(t *testing.T) {
	golden(t, "open_handshake", AppendOpen(nil, testHandshake))
	ws := testHandshake
	ws.Upgrades = nil
	golden(t, "open_handshake_websocket", AppendOpen(nil, ws))

	got := AppendOpen(nil, testHandshake)
	var v map[string]any
	if err := json.Unmarshal(got[1:], &v); err != nil || len(v) != 5 {
		t.Fatalf("open JSON %s: %v (%d keys)", got, err, len(v))
	}
	odd := Handshake{SID: "a\"b\\c\x01<>", Upgrades: []string{"websocket", "x"}, PingInterval: 300 * time.Millisecond}
	want := `0{"sid":"a\"b\\c\u0001<>","upgrades":["websocket","x"],"pingInterval":300,"pingTimeout":0,"maxPayload":0}`
	if got := string(AppendOpen(nil, odd)); got != want {
		t.Fatalf("AppendOpen = %s, want %s", got, want)
	}
}

func TestAppendError(t *testing.T) {
	for _, tc := range []struct {
		code   ErrorCode
		body   string
		status int
	}{
		{code: ErrTransportUnknown, body: `{"code":0,"message":"Transport unknown"}`, status: 400},
		{code: ErrSessionIDUnknown, body: `{"code":1,"message":"Session ID unknown"}`, status: 400},
		{code: ErrBadHandshakeMethod, body: `{"code":2,"message":"Bad handshake method"}`, status: 400},
		{code: ErrBadRequest, body: `{"code":3,"message":"Bad request"}`, status: 400},
		{code: ErrForbidden, body: `{"code":4,"message":"Forbidden"}`, status: 403},
		{code: ErrUnsupportedProtocolVersion, body: `{"code":5,"message":"Unsupported protocol version"}`, status: 400},
		{code: 9, body: `{"code":9,"message":"Unknown error"}`, status: 400},
	} {
		if got := string(AppendError(nil, tc.code)); got != tc.body {
			t.Errorf("AppendError(%d) = %s, want %s", tc.code, got, tc.body)
		}
		if tc.code.HTTPStatus() != tc.status {
			t.Errorf("HTTPStatus(%d) = %d, want %d", tc.code, tc.code.HTTPStatus(), tc.status)
		}
	}
	if got := string(AppendErrorMessage(nil, ErrForbidden, "no \"way\"\n")); got != `{"code":4,"message":"no \"way\"\n"}` {
		t.Errorf("AppendErrorMessage = %s", got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "a\"b", "\x00\x1f\b\f\t\n\r", "<>&", "\xff\xfe", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, enc, err)
		}
		// encoding/json decodes invalid UTF-8 to U+FFFD as we encode it.
		want := string([]rune(s))
		if back != want {
			t.Fatalf("appendJSONString(%q) = %s decodes to %q", s, enc, back)
		}
	})
}
