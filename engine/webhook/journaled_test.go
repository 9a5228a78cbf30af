package webhook

import (
	"testing"

	"github.com/pushgate/pushgate/engine/store"
)

// The journal record of event-record puts decodes to the same puts; any other bytes decode to an
// error or to puts, never to a panic.
func FuzzDecodePuts(f *testing.F) {
	f.Add(encodePuts([]store.WebhookPut{{Bucket: store.WebhookEvents, Key: "\x00\x00\x00\x00\x00\x00\x00\x07", Value: []byte(`{"body":{}}`)}}))
	f.Add([]byte{1, 0, 'k', 3, 0, 0, 0, 'a', 'b'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		puts, err := decodePuts(b)
		if err != nil {
			return
		}
		if again := encodePuts(puts); string(again) != string(b) {
			t.Fatalf("decoded %d puts that encode to %q, not %q", len(puts), again, b)
		}
	})
}
