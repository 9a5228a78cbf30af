package socketio

import (
	"bytes"
	"errors"
	"testing"
)

// vectors drives both Decode and AppendPacket. canonical=false marks inputs
// that decode fine but re-encode differently ("0/custom" → "0/custom,").
var vectors = []struct {
	name      string
	in        string
	want      Packet
	canonical bool
}{
	// Official conformance suite (socketio-protocol.md §4.4).
	{name: "connect-main", in: "0", want: Packet{Type: Connect, Namespace: "/", AckID: NoAck}, canonical: true},
	{name: "connect-main-payload", in: `0{"token":"123"}`, want: Packet{Type: Connect, Namespace: "/", AckID: NoAck, Data: []byte(`{"token":"123"}`)}, canonical: true},
	{name: "connect-custom", in: "0/custom,", want: Packet{Type: Connect, Namespace: "/custom", AckID: NoAck}, canonical: true},
	{name: "connect-custom-payload", in: `0/custom,{"token":"abc"}`, want: Packet{Type: Connect, Namespace: "/custom", AckID: NoAck, Data: []byte(`{"token":"abc"}`)}, canonical: true},
	{name: "connect-random-no-comma", in: "0/random", want: Packet{Type: Connect, Namespace: "/random", AckID: NoAck}},
	{name: "connect-custom-no-comma", in: "0/custom", want: Packet{Type: Connect, Namespace: "/custom", AckID: NoAck}},
	{name: "disconnect-main", in: "1", want: Packet{Type: Disconnect, Namespace: "/", AckID: NoAck}, canonical: true},
	{name: "disconnect-custom", in: "1/custom", want: Packet{Type: Disconnect, Namespace: "/custom", AckID: NoAck}},
	{name: "disconnect-custom-comma", in: "1/custom,", want: Packet{Type: Disconnect, Namespace: "/custom", AckID: NoAck}, canonical: true},
	{name: "event", in: `2["message",1,"2",{"3":[true]}]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(`["message",1,"2",{"3":[true]}]`)}, canonical: true},
	{name: "event-main-text", in: `2["message","message to main namespace"]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(`["message","message to main namespace"]`)}, canonical: true},
	{name: "event-ack", in: `2456["message-with-ack",1,"2",{"3":[false]}]`, want: Packet{Type: Event, Namespace: "/", AckID: 456, Data: []byte(`["message-with-ack",1,"2",{"3":[false]}]`)}, canonical: true},
	{name: "binary-event", in: `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, want: Packet{Type: BinaryEvent, Namespace: "/", AckID: NoAck, Attachments: 2, Data: []byte(`["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}, canonical: true},
	{name: "binary-event-ack", in: `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, want: Packet{Type: BinaryEvent, Namespace: "/", AckID: 789, Attachments: 2, Data: []byte(`["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}, canonical: true},
	{name: "binary-ack", in: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, want: Packet{Type: BinaryAck, Namespace: "/", AckID: 789, Attachments: 2, Data: []byte(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}, canonical: true},
	{name: "ack", in: `3456[1,"2",{"3":[false]}]`, want: Packet{Type: Ack, Namespace: "/", AckID: 456, Data: []byte(`[1,"2",{"3":[false]}]`)}, canonical: true},
	{name: "connect-error-invalid-nsp", in: `4/random,{"message":"Invalid namespace"}`, want: Packet{Type: ConnectError, Namespace: "/random", AckID: NoAck, Data: []byte(`{"message":"Invalid namespace"}`)}, canonical: true},
	// Protocol spec examples (§2.1, §2.2).
	{name: "connect-admin", in: `0/admin,{"token":"123"}`, want: Packet{Type: Connect, Namespace: "/admin", AckID: NoAck, Data: []byte(`{"token":"123"}`)}, canonical: true},
	{name: "connect-reply", in: `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`, want: Packet{Type: Connect, Namespace: "/", AckID: NoAck, Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}, canonical: true},
	{name: "connect-error-string", in: `4"nope"`, want: Packet{Type: ConnectError, Namespace: "/", AckID: NoAck, Data: []byte(`"nope"`)}, canonical: true},
	{name: "connect-error-data", in: `4/admin,{"message":"Not authorized","data":{"a":1}}`, want: Packet{Type: ConnectError, Namespace: "/admin", AckID: NoAck, Data: []byte(`{"message":"Not authorized","data":{"a":1}}`)}, canonical: true},
	{name: "event-nsp-ack", in: `2/admin,7["ask",1]`, want: Packet{Type: Event, Namespace: "/admin", AckID: 7, Data: []byte(`["ask",1]`)}, canonical: true},
	{name: "ack-nsp", in: `3/admin,7[{"ok":true}]`, want: Packet{Type: Ack, Namespace: "/admin", AckID: 7, Data: []byte(`[{"ok":true}]`)}, canonical: true},
	{name: "ack-empty", in: `30[]`, want: Packet{Type: Ack, Namespace: "/", AckID: 0, Data: []byte(`[]`)}, canonical: true},
	{name: "binary-ack-nsp", in: `61-15["bar",{"_placeholder":true,"num":0}]`, want: Packet{Type: BinaryAck, Namespace: "/", AckID: 15, Attachments: 1, Data: []byte(`["bar",{"_placeholder":true,"num":0}]`)}, canonical: true},
	{name: "binary-event-nsp", in: `51-/admin,3["up",{"_placeholder":true,"num":0}]`, want: Packet{Type: BinaryEvent, Namespace: "/admin", AckID: 3, Attachments: 1, Data: []byte(`["up",{"_placeholder":true,"num":0}]`)}, canonical: true},
	{name: "binary-zero", in: `50-["x"]`, want: Packet{Type: BinaryEvent, Namespace: "/", AckID: NoAck, Data: []byte(`["x"]`)}, canonical: true},
	{name: "binary-ten", in: `510-["x"]`, want: Packet{Type: BinaryEvent, Namespace: "/", AckID: NoAck, Attachments: 10, Data: []byte(`["x"]`)}, canonical: true},
	{name: "event-number-name", in: `2[42,"x"]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(`[42,"x"]`)}, canonical: true},
	{name: "event-space", in: `2 [ "a" ]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(` [ "a" ]`)}, canonical: true},
	{name: "event-escaped-reserved-like", in: `2["connect\u0021"]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(`["connect\u0021"]`)}, canonical: true},
	{name: "event-placeholder-not-checked", in: `2["x",{"_placeholder":true,"num":5}]`, want: Packet{Type: Event, Namespace: "/", AckID: NoAck, Data: []byte(`["x",{"_placeholder":true,"num":5}]`)}, canonical: true},
	{name: "nsp-utf8", in: "0/ünï,", want: Packet{Type: Connect, Namespace: "/ünï", AckID: NoAck}, canonical: true},
}

var badVectors = []struct {
	name string
	in   string
	err  error
}{
	{name: "empty", in: "", err: ErrUnknownType},
	{name: "abc", in: "abc", err: ErrUnknownType},
	{name: "seven", in: "7[]", err: ErrUnknownType},
	{name: "event-object", in: "2{}", err: ErrBadPayload},
	{name: "event-bad-ack", in: `2abc["message-with-ack",1,"2",{"3":[false]}]`, err: ErrBadAckID},
	{name: "event-empty-array", in: "2[]", err: ErrBadPayload},
	{name: "event-no-payload", in: "2", err: ErrBadPayload},
	{name: "event-bool-name", in: "2[true]", err: ErrBadPayload},
	{name: "event-object-name", in: `2[{"a":1}]`, err: ErrBadPayload},
	{name: "event-bad-json", in: `2["a",]`, err: ErrBadPayload},
	{name: "event-trailing", in: `2["a"]x`, err: ErrBadPayload},
	{name: "event-unterminated", in: `2["a"`, err: ErrBadPayload},
	{name: "event-spaces-only", in: `2   `, err: ErrBadPayload},
	{name: "reserved-connect", in: `2["connect"]`, err: ErrBadPayload},
	{name: "reserved-connect_error", in: `2["connect_error"]`, err: ErrBadPayload},
	{name: "reserved-disconnect", in: `2["disconnect"]`, err: ErrBadPayload},
	{name: "reserved-disconnecting", in: `2["disconnecting"]`, err: ErrBadPayload},
	{name: "reserved-newListener", in: `2["newListener"]`, err: ErrBadPayload},
	{name: "reserved-removeListener", in: `2/a,1["removeListener",1]`, err: ErrBadPayload},
	{name: "reserved-escaped", in: `2["\u0063onnect"]`, err: ErrBadPayload},
	{name: "reserved-binary", in: `50-["disconnect"]`, err: ErrBadPayload},
	{name: "connect-array", in: "0[]", err: ErrBadPayload},
	{name: "connect-null", in: "0null", err: ErrBadPayload},
	{name: "connect-string", in: `0"x"`, err: ErrBadPayload},
	{name: "disconnect-payload", in: `1{}`, err: ErrBadPayload},
	{name: "ack-object", in: `31{}`, err: ErrBadPayload},
	{name: "ack-none", in: `31`, err: ErrBadPayload},
	{name: "connect-error-array", in: `4[]`, err: ErrBadPayload},
	{name: "connect-error-number", in: `4 1`, err: ErrBadPayload},
	{name: "too-many-attachments", in: `511-["x"]`, err: ErrTooManyAttachments},
	{name: "huge-attachments", in: `599999999999999999999999-["x"]`, err: ErrTooManyAttachments},
	{name: "attachments-no-dash", in: `52["x"]`, err: ErrBadAttachments},
	{name: "attachments-empty", in: `5-["x"]`, err: ErrBadAttachments},
	{name: "attachments-sign", in: `5+1-["x"]`, err: ErrBadAttachments},
	{name: "attachments-missing", in: `5`, err: ErrBadAttachments},
	{name: "placeholder-out-of-range", in: `51-["x",{"_placeholder":true,"num":1}]`, err: ErrBadAttachments},
	{name: "placeholder-negative", in: `51-["x",{"_placeholder":true,"num":-1}]`, err: ErrBadAttachments},
	{name: "placeholder-fraction", in: `51-["x",{"_placeholder":true,"num":0.5}]`, err: ErrBadAttachments},
	{name: "placeholder-no-num", in: `61-[{"_placeholder":true}]`, err: ErrBadAttachments},
	{name: "placeholder-string-num", in: `61-[{"_placeholder":true,"num":"0"}]`, err: ErrBadAttachments},
	{name: "ack-id-too-long", in: `21234567890123456789["x"]`, err: ErrBadAckID},
	{name: "nsp-control", in: "0/a\x01b,", err: ErrBadNamespace},
	{name: "nsp-bad-utf8", in: "0/a\xff,", err: ErrBadNamespace},
}

func samePacket(a, b Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.AckID == b.AckID &&
		a.Attachments == b.Attachments && bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func TestDecode(t *testing.T) {
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in), 0)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if !samePacket(got, tc.want) {
				t.Fatalf("Decode(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range badVectors {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in), 0)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Decode(%q) = %+v, %v; want error %v", tc.in, got, err, tc.err)
			}
		})
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	in := []byte(`53-["x"]`)
	if _, err := Decode(in, 2); !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("max 2: %v", err)
	}
	if p, err := Decode(in, 3); err != nil || p.Attachments != 3 {
		t.Fatalf("max 3: %+v %v", p, err)
	}
	if _, err := Decode([]byte(`5100-["x"]`), 99); !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("max 99: %v", err)
	}
}

func TestAppendPacketVectors(t *testing.T) {
	for _, tc := range vectors {
		if !tc.canonical {
			continue
		}
		if got := string(AppendPacket([]byte("4"), tc.want)); got != "4"+tc.in {
			t.Errorf("%s: AppendPacket = %q, want %q", tc.name, got, "4"+tc.in)
		}
	}
	if got := string(AppendPacket(nil, Packet{Type: Event, AckID: NoAck, Data: []byte(`["a"]`)})); got != `2["a"]` {
		t.Errorf("empty namespace: %q", got)
	}
}

func TestPacketTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "UNKNOWN"}
	for i, w := range want {
		if got := PacketType(i).String(); got != w {
			t.Errorf("PacketType(%d) = %q, want %q", i, got, w)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range vectors {
		f.Add([]byte(tc.in))
	}
	for _, tc := range badVectors {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Decode(in, 0)
		if err != nil {
			return
		}
		// Round trip: decode(encode(p)) == p.
		enc := AppendPacket(nil, p)
		q, err := Decode(enc, 0)
		if err != nil {
			t.Fatalf("Decode(%q) -> %+v -> %q: %v", in, p, enc, err)
		}
		if !samePacket(p, q) {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v", in, p, enc, q)
		}
		if p.Type.IsBinary() {
			if err := ValidatePlaceholders(p.Data, p.Attachments); err != nil {
				t.Fatalf("placeholders of accepted %q: %v", in, err)
			}
		}
		if p.Type == Event || p.Type == BinaryEvent {
			name, args, err := SplitEvent(p.Data)
			if err != nil {
				t.Fatalf("SplitEvent(%q): %v", p.Data, err)
			}
			rebuilt := AppendArray(nil, "", args)
			if _, err := ArrayElements(rebuilt); err != nil {
				t.Fatalf("args %q of %q do not form an array: %v", args, p.Data, err)
			}
			_ = name
		}
	})
}
