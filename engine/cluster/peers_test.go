package cluster

import (
	"bytes"
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
