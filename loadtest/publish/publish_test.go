package publish

import (
	"encoding/json"
	"testing"
)

func TestBodyPayloadSizeAndStamp(t *testing.T) {
	tests := []struct{ size, want int }{{200, 200}, {1000, 1000}, {10, -1}}
	for _, tc := range tests {
		p := New(Config{PayloadBytes: tc.size})
		body := p.Body(42, 3, 1732550000123456789)
		var ev struct {
			Namespace, Name, Timestamp string
			Payload                    json.RawMessage
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("size %d: %v: %s", tc.size, err, body)
		}
		if tc.want > 0 && len(ev.Payload) != tc.want {
			t.Errorf("size %d: payload is %d bytes", tc.size, len(ev.Payload))
		}
		var pl struct {
			SentAt int64 `json:"sentAt"`
			Seq    int64 `json:"seq"`
			Step   int   `json:"step"`
		}
		if err := json.Unmarshal(ev.Payload, &pl); err != nil || pl.SentAt != 1732550000123456789 || pl.Seq != 42 || pl.Step != 3 {
			t.Errorf("payload %s -> %+v %v", ev.Payload, pl, err)
		}
		if ev.Namespace != "bench" || ev.Name != "tick" || ev.Timestamp != "2024-11-25T15:53:20.123456789Z" {
			t.Errorf("event head %+v", ev)
		}
	}
}
