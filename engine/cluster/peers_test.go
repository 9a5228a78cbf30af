package cluster

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	now := time.Unix(1_800_000_000, 0)
	raw := []byte("POST /socket.io/?EIO=4&transport=polling&sid=abc.x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n40/x,")
	signed := Sign(secret, raw, now)
	if !bytes.Contains(signed, []byte("HTTP/1.1\r\n"+AuthHeader+": v1 ")) || !bytes.HasSuffix(signed, raw[bytes.Index(raw, []byte("\r\n"))+2:]) {
		t.Fatalf("signed request:\n%s", signed)
	}
	if err := Verify(secret, signed, now.Add(MaxClockSkew-time.Second)); err != nil {
		t.Fatalf("Verify of a signed request: %v", err)
	}
	if again := Sign(secret, raw, now); bytes.Equal(again, signed) {
		t.Fatal("two signatures of one request at one instant are equal: no nonce")
	}
	tamper := func(old, new string) []byte { return bytes.Replace(signed, []byte(old), []byte(new), 1) }
	for name, c := range map[string]struct {
		req    []byte
		secret []byte
		at     time.Time
		want   string
	}{
		"unsigned":        {raw, secret, now, "not signed"},
		"other secret":    {signed, []byte("another-secret-0123456"), now, "bad signature"},
		"body changed":    {tamper("40/x,", "40/y,"), secret, now, "bad signature"},
		"sid changed":     {tamper("sid=abc.x", "sid=abc.y"), secret, now, "bad signature"},
		"header added":    {tamper("Host: h\r\n", "Host: h\r\nCookie: c\r\n"), secret, now, "bad signature"},
		"too old":         {signed, secret, now.Add(MaxClockSkew + time.Second), "too old"},
		"from the future": {signed, secret, now.Add(-MaxClockSkew - time.Second), "too old"},
		"not http":        {[]byte("garbage"), secret, now, "not an HTTP request"},
		"no signature":    {tamper(AuthHeader+": v1 ", AuthHeader+": v1 1800000000000"), secret, now, "malformed"},
	} {
		err := Verify(c.secret, c.req, c.at)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify = %v, want an error with %q", name, err, c.want)
		}
	}
}

func TestInstanceIDs(t *testing.T) {
	for _, id := range []string{"a", "pod-7", "abcdefgh", strings.Repeat("z", 32), NewInstanceID()} {
		if !ValidInstanceID(id) {
			t.Errorf("ValidInstanceID(%q) = false", id)
		}
		if got, ok := instanceOf(InstanceSIDPrefix(id) + "rest"); !ok || got != id {
			t.Errorf("instanceOf(%q) = %q %v", InstanceSIDPrefix(id)+"rest", got, ok)
		}
	}
	for _, id := range []string{"", "A", "a.b", "a_b", "w3", "w12", strings.Repeat("z", 33)} {
		if ValidInstanceID(id) {
			t.Errorf("ValidInstanceID(%q) = true", id)
		}
	}
	if _, ok := instanceOf("noprefix"); ok {
		t.Error("instanceOf without a dot")
	}
	if a, b := NewInstanceID(), NewInstanceID(); a == b || len(a) != 8 {
		t.Errorf("NewInstanceID: %q, %q", a, b)
	}
}

// The Gate accepts a signature once: a request captured on the wire cannot be injected again.
func TestGateRefusesReplays(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	g := NewGate(secret, "me.", nil)
	now := time.Now()
	mac, err := verify(secret, Sign(secret, []byte("GET / HTTP/1.1\r\n\r\n"), now), now)
	if err != nil {
		t.Fatal(err)
	}
	if !g.firstUse(mac, now) || g.firstUse(mac, now.Add(time.Second)) {
		t.Fatal("a signature was accepted twice, or not once")
	}
}

// TestGateRefusesEveryRespelling is the probe's finding 2: unpadded base64 leaves unused low bits
// in the last character, so one MAC has several spellings. Only the signer's spelling is
// accepted, once; every other spelling is refused (strict decoding), and the replay cache,
// keyed by the decoded bytes, refuses the original a second time.
func TestGateRefusesEveryRespelling(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	g := NewGate(secret, "me.", nil)
	now := time.Now()
	signed := Sign(secret, []byte("POST /socket.io/?EIO=4&transport=polling&sid=me.x HTTP/1.1\r\nHost: h\r\n\r\n40"), now)
	line := signed[bytes.Index(signed, []byte("\r\n"))+2:]
	line = line[:bytes.Index(line, []byte("\r\n"))]
	mac := string(line[bytes.LastIndexByte(line, ' ')+1:])
	admit := func(req []byte) error {
		key, err := verify(secret, req, now)
		if err == nil && !g.firstUse(key, now) {
			err = errors.New("replayed")
		}
		return err
	}
	if err := admit(signed); err != nil {
		t.Fatalf("the original signature is refused: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	want, _ := base64.RawURLEncoding.DecodeString(mac)
	respellings := 0
	for _, c := range alphabet {
		alt := mac[:len(mac)-1] + string(c)
		if alt == mac {
			continue
		}
		if b, err := base64.RawURLEncoding.DecodeString(alt); err != nil || !bytes.Equal(b, want) {
			continue // another MAC, not a re-spelling
		}
		respellings++
		if err := admit(bytes.Replace(signed, []byte(mac), []byte(alt), 1)); err == nil {
			t.Errorf("re-spelling %s of %s accepted", alt[len(alt)-3:], mac[len(mac)-3:])
		}
	}
	if respellings != 3 {
		t.Fatalf("%d re-spellings of a 32-byte MAC tried, want 3", respellings)
	}
	if err := admit(signed); err == nil {
		t.Error("the original signature was accepted twice")
	}
}
