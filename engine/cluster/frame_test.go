package cluster

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

func sampleEvent(i int) *source.Event {
	return &source.Event{
		ID: "1700000000-" + string(rune('0'+i%10)), TenantID: store.TenantURNPrefix + "0123456789abcdef01234567",
		Namespace: "shop", Name: "order-placed", CorrelationID: "c-1",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC),
		JSON:      []byte(`{"tenantId":"x","namespace":"shop","name":"order-placed","payload":{"id":1}}`),
	}
}

func sampleSnapshot() *Snapshot {
	return &Snapshot{
		Epoch:   "abc",
		Tenants: []store.Tenant{{ID: store.TenantURNPrefix + "0123456789abcdef01234567", Name: "Demo Tenant", Realm: "demo-tenant"}},
		Core:    []byte(`{"core":{}}`),
		Configs: map[string][]byte{store.TenantURNPrefix + "0123456789abcdef01234567": []byte(`{"orders":{}}`)},
	}
}

// allFrames is one of each frame kind, concatenated.
func allFrames(t testing.TB) []byte {
	var b []byte
	b = AppendHello(b, Hello{Index: 3, Epoch: "e", LastSeq: 42})
	b = AppendReady(b, 3)
	b, err := AppendSnapshot(b, sampleSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	b = AppendEvent(b, 7, sampleEvent(1))
	b = AppendEvent(b, 8, &source.Event{ID: "1-2"}) // zero timestamp, empty fields
	return AppendPing(b)
}

func TestFrameRoundTrip(t *testing.T) {
	b := allFrames(t)
	var frames []Frame
	for len(b) > 0 {
		f, n, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		frames = append(frames, f)
		b = b[n:]
	}
	if len(frames) != 6 {
		t.Fatalf("got %d frames, want 6", len(frames))
	}
	if h, err := ParseHello(frames[0].Payload); err != nil || h != (Hello{Index: 3, Epoch: "e", LastSeq: 42}) {
		t.Errorf("hello = %+v, %v", h, err)
	}
	if i, err := ParseReady(frames[1].Payload); err != nil || i != 3 {
		t.Errorf("ready = %d, %v", i, err)
	}
	s, err := ParseSnapshot(frames[2].Payload)
	if err != nil || !reflect.DeepEqual(s, sampleSnapshot()) {
		t.Errorf("snapshot = %+v, %v", s, err)
	}
	seq, ev, err := ParseEvent(frames[3].Payload)
	if err != nil || seq != 7 || !reflect.DeepEqual(ev, sampleEvent(1)) {
		t.Errorf("event = %d %+v, %v", seq, ev, err)
	}
	seq, ev, err = ParseEvent(frames[4].Payload)
	if err != nil || seq != 8 || ev.ID != "1-2" || !ev.Timestamp.IsZero() || len(ev.JSON) != 0 {
		t.Errorf("empty event = %d %+v, %v", seq, ev, err)
	}
	if frames[5].Type != TypePing || len(frames[5].Payload) != 0 {
		t.Errorf("ping = %+v", frames[5])
	}
}

func TestDecodeFrameLimits(t *testing.T) {
	if _, _, err := DecodeFrame([]byte{0, 0, 0}); !errors.Is(err, ErrShort) {
		t.Errorf("3 bytes: %v, want ErrShort", err)
	}
	if _, _, err := DecodeFrame([]byte{0, 0, 0, 0, 'P'}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("empty frame: %v", err)
	}
	if _, _, err := DecodeFrame([]byte{0xff, 0, 0, 0}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("huge frame: %v", err)
	}
	ev := AppendEvent(nil, 1, sampleEvent(0))
	for cut := 1; cut < len(ev)-4; cut++ { // truncated payloads with a consistent length
		b := append([]byte(nil), ev[:len(ev)-cut]...)
		f, _, err := DecodeFrame(append(b[:0:0], append([]byte{0, 0, 0, byte(len(b) - 4)}, b[4:]...)...))
		if err != nil {
			continue
		}
		if _, _, err := ParseEvent(f.Payload); err == nil {
			t.Fatalf("event truncated by %d parsed without error", cut)
		}
	}
}

// decodeSplit feeds b to the decoder in chunks cut at the given points, as a reader would.
func decodeSplit(b []byte, cuts []int) ([]Frame, error) {
	var buf []byte
	var out []Frame
	prev := 0
	for _, c := range append(cuts, len(b)) {
		buf = append(buf, b[prev:c]...)
		prev = c
		for {
			f, n, err := DecodeFrame(buf)
			if errors.Is(err, ErrShort) {
				break
			}
			if err != nil {
				return out, err
			}
			out = append(out, Frame{Type: f.Type, Payload: append([]byte(nil), f.Payload...)})
			buf = buf[n:]
		}
	}
	if len(buf) != 0 {
		return out, ErrShort
	}
	return out, nil
}

func FuzzDecodeFrames(f *testing.F) {
	f.Add(allFrames(f), uint64(1))
	f.Add([]byte{0, 0, 0, 1, 'P', 0, 0}, uint64(2))
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		whole, werr := decodeSplit(b, nil)
		r := rand.New(rand.NewPCG(seed, seed))
		var cuts []int
		for c := 0; c < len(b); c += 1 + r.IntN(16) {
			cuts = append(cuts, c)
		}
		split, serr := decodeSplit(b, cuts)
		if (werr == nil) != (serr == nil) || len(whole) != len(split) {
			t.Fatalf("split decoding differs: %v/%d vs %v/%d", werr, len(whole), serr, len(split))
		}
		for i := range whole {
			if whole[i].Type != split[i].Type || !bytes.Equal(whole[i].Payload, split[i].Payload) {
				t.Fatalf("frame %d differs", i)
			}
			p := whole[i].Payload
			// Parsers never panic; what parses re-encodes to the same bytes.
			if seq, ev, err := ParseEvent(p); err == nil {
				re := AppendEvent(nil, seq, ev)
				if !bytes.Equal(re[5:], p) && ev.Timestamp.Unix() >= -62135596800 {
					if _, ev2, err := ParseEvent(re[5:]); err != nil || !reflect.DeepEqual(ev, ev2) {
						t.Fatalf("event does not round-trip: %+v", ev)
					}
				}
			}
			_, _ = ParseSnapshot(p)
			_, _ = ParseHello(p)
			_, _ = ParseReady(p)
		}
	})
}

// The EVENT frame carries the trace context to the workers, and a frame without one (an older
// parent) still parses.
func TestEventFrameTraceparent(t *testing.T) {
	ev := sampleEvent(2)
	ev.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, origin := range []string{"", "AQEDAAEBAAEA"} {
		ev.Origin = origin
		f, _, err := DecodeFrame(AppendEvent(nil, 9, ev))
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := ParseEvent(f.Payload); err != nil || !reflect.DeepEqual(got, ev) {
			t.Fatalf("event = %+v, %v, want %+v", got, err, ev)
		}
	}
	ev.Traceparent = "" // an origin without a trace context
	f, _, _ := DecodeFrame(AppendEvent(nil, 9, ev))
	if _, got, err := ParseEvent(f.Payload); err != nil || !reflect.DeepEqual(got, ev) {
		t.Fatalf("event = %+v, %v, want %+v", got, err, ev)
	}
	f, _, _ = DecodeFrame(AppendEvent(nil, 9, sampleEvent(2)))
	if _, got, err := ParseEvent(f.Payload); err != nil || got.Traceparent != "" {
		t.Fatalf("event without trace context = %+v, %v", got, err)
	}
}
