package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// With a secrets key the store (and so the config topic) holds the signing secret sealed; the
// same key reads it back after a restart; another key, or none, never signs and never replaces it.
func TestSecretsAreSealedAtRest(t *testing.T) {
	r := newReceiver(t, 204)
	e := newEnv(t, func(c *Config) { c.SecretsKey = "key-one" })
	e.configure(tenantA, hookDoc("h", r.url))
	sec := e.secret(tenantA, "h").Secret
	ek := endpointKey(tenantA, "h")
	stored := func() string {
		raw, _, _, err := e.st.WebhookState(ek)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	at := stored()
	if strings.Contains(at, strings.TrimPrefix(sec, "whsec_")) || !strings.Contains(at, sealedPrefix) {
		t.Fatalf("the stored state discloses the secret or is not sealed: %s", at)
	}
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "a delivery", func() bool { return len(r.requests()) == 1 })
	verify(t, r.requests()[0], sec)
	// Closed while its 204 is still on the way, the attempt would be aborted and sent again after
	// the restart (at-least-once): wait until the sender has seen the answer.
	waitfor.True(t, 5*time.Second, "the delivery recorded", func() bool { return e.svc.stats.delivered.Load() == 1 })

	// The same key after a restart: the same secret.
	e.close()
	e.open(func(c *Config) { c.SecretsKey = "key-one" })
	if got := e.secret(tenantA, "h").Secret; got != sec {
		t.Fatal("the secret changed across a restart with the same key")
	}

	// Another key, then none: nothing is signed, the secret route says why, the state stays.
	for _, key := range []string{"key-two", ""} {
		e.close()
		e.open(func(c *Config) { c.SecretsKey = key })
		if _, err := e.svc.Secret(tenantA, "h"); !errors.Is(err, errUnusable) {
			t.Fatalf("key %q: Secret = %v, want the unusable error", key, err)
		}
		if _, err := e.svc.RotateSecret(tenantA, "h"); !errors.Is(err, errUnusable) {
			t.Fatalf("key %q: RotateSecret = %v, want the unusable error", key, err)
		}
		before := len(r.requests())
		e.publish(tenantA)
		time.Sleep(300 * time.Millisecond) // an absence: nothing may be signed with a wrong secret
		if len(r.requests()) != before {
			t.Fatalf("key %q: a delivery was sent with a secret this instance cannot read", key)
		}
		if stored() != at {
			t.Fatalf("key %q: the stored state was replaced", key)
		}
	}

	// The right key again: the waiting deliveries go out, signed with the one secret.
	e.close()
	e.open(func(c *Config) { c.SecretsKey = "key-one" })
	waitfor.True(t, 5*time.Second, "the waiting deliveries", func() bool { return len(r.requests()) == 3 })
	for _, q := range r.requests() {
		verify(t, q, sec)
	}
}

// A state stored without a key is read when a key is set, and sealed at its next write.
func TestPlainSecretIsSealedOnRotation(t *testing.T) {
	r := newReceiver(t, 204)
	e := newEnv(t, nil)
	e.configure(tenantA, hookDoc("h", r.url))
	sec := e.secret(tenantA, "h").Secret
	e.close()
	e.open(func(c *Config) { c.SecretsKey = "k" })
	if got := e.secret(tenantA, "h").Secret; got != sec {
		t.Fatal("a plain stored secret was not read once a key was set")
	}
	if _, err := e.svc.RotateSecret(tenantA, "h"); err != nil {
		t.Fatal(err)
	}
	raw, _, _, _ := e.st.WebhookState(endpointKey(tenantA, "h"))
	if strings.Contains(string(raw), strings.TrimPrefix(sec, "whsec_")) {
		t.Fatal("the previous secret is stored in the clear after the rotation")
	}
}

// TestSealedSecretOneSpelling: a sealed secret is decoded strictly, like every MAC-bearing value
// (SECURITY.md): another spelling of the same bytes does not open.
func TestSealedSecretOneSpelling(t *testing.T) {
	s, err := newSealer("key")
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.seal("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ", "ep")
	b64 := strings.TrimPrefix(sealed, sealedPrefix)
	want, _ := base64.RawURLEncoding.DecodeString(b64)
	tried := 0
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		alt := b64[:len(b64)-1] + string(c)
		if b, err := base64.RawURLEncoding.DecodeString(alt); alt == b64 || err != nil || !bytes.Equal(b, want) {
			continue
		}
		tried++
		if _, err := s.open(sealedPrefix+alt, "ep"); err == nil {
			t.Errorf("re-spelled sealed secret %s opened", alt[len(alt)-4:])
		}
	}
	if tried == 0 {
		t.Fatal("the sealed form has no unused bits to re-spell; lengthen the secret")
	}
}
