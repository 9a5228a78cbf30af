package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzApplyRemoteWebhook: a webhook record read from the config topic — any key, any value — is
// applied or refused without a panic; an accepted one reads back, and applying it again changes
// nothing (topic replays are idempotent).
func FuzzApplyRemoteWebhook(f *testing.F) {
	f.Add("ep", []byte(`{"version":1,"state":{"secret":"whsec_a"}}`))
	f.Add("ep:with:colons", []byte(`{"version":2,"deleted":true}`))
	f.Add("", []byte(`{"version":0}`))
	f.Add("ep", []byte(`{"version":1,"state":null}`))
	f.Add("ep", []byte(`[`))
	st := openTest(f, f.TempDir(), Options{Replicate: func(Record) error { return nil }})
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		err := st.ApplyRemote(Record{Kind: KindWebhook, Key: key, Value: value})
		var ve *ValidationError
		if err != nil {
			if !errors.As(err, &ve) && !errors.Is(err, ErrConflict) {
				t.Fatalf("ApplyRemote: unexpected error kind %v", err)
			}
			return
		}
		state, _, _, err := st.WebhookState(key)
		if err != nil {
			t.Fatalf("accepted record does not read back: %v", err)
		}
		if err := st.ApplyRemote(Record{Kind: KindWebhook, Key: key, Value: value}); err != nil {
			t.Fatalf("applying the same record again: %v", err)
		}
		again, _, _, _ := st.WebhookState(key)
		if !bytes.Equal(state, again) {
			t.Fatalf("re-applying changed the state: %s -> %s", state, again)
		}
	})
}
