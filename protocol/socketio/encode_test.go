package socketio

import (
	"encoding/json"
	"testing"
)

func TestAppenders(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{name: "connect-main", got: AppendConnect(nil, "/", "abc"), want: `0{"sid":"abc"}`},
		{name: "connect-empty-nsp", got: AppendConnect(nil, "", "abc"), want: `0{"sid":"abc"}`},
		{name: "connect-custom", got: AppendConnect(nil, "/custom", "abc"), want: `0/custom,{"sid":"abc"}`},
		{name: "connect-error", got: AppendConnectError(nil, "/random", "Invalid namespace", nil), want: `4/random,{"message":"Invalid namespace"}`},
		{name: "connect-error-main", got: AppendConnectError(nil, "/", `say "no"`, nil), want: `4{"message":"say \"no\""}`},
		{name: "connect-error-data", got: AppendConnectError(nil, "/a", "x", []byte(`{"code":7}`)), want: `4/a,{"message":"x","data":{"code":7}}`},
		{name: "event-auth", got: AppendEvent(nil, "/", "auth", []byte(`{}`)), want: `2["auth",{}]`},
		{name: "event-custom", got: AppendEvent(nil, "/custom", "auth", []byte(`{"token":"abc"}`)), want: `2/custom,["auth",{"token":"abc"}]`},
		{name: "event-no-arg", got: AppendEvent(nil, "/", "ping", nil), want: `2["ping"]`},
		{name: "event-tenant", got: AppendEvent(nil, "/tenant-a", "stream-event", []byte(`{"a":1}`)), want: `2/tenant-a,["stream-event",{"a":1}]`},
		{name: "event-ack", got: AppendEventAck(nil, "/admin", 7, "ask", []byte(`1`)), want: `2/admin,7["ask",1]`},
		{name: "ack", got: AppendAck(nil, "/", 456, []byte(`1,"2",{"3":[false]}`)), want: `3456[1,"2",{"3":[false]}]`},
		{name: "ack-empty", got: AppendAck(nil, "/x", 0, nil), want: `3/x,0[]`},
		{name: "disconnect-main", got: AppendDisconnect(nil, "/"), want: `1`},
		{name: "disconnect-custom", got: AppendDisconnect(nil, "/custom"), want: `1/custom,`},
		{name: "array-message-back", got: AppendArray(nil, "message-back", []byte(`1,"2",{"3":[true]}`)), want: `["message-back",1,"2",{"3":[true]}]`},
		{name: "array-ack", got: AppendArray(nil, "", []byte(`1,"2"`)), want: `[1,"2"]`},
		{name: "array-empty", got: AppendArray(nil, "", nil), want: `[]`},
		{name: "binary-back", got: AppendPacket(nil, Packet{Type: BinaryEvent, Namespace: "/", AckID: NoAck, Attachments: 2, Data: AppendArray(nil, "message-back", []byte(`{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`))}),
			want: `52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{name: "binary-ack", got: AppendPacket(nil, Packet{Type: BinaryAck, AckID: 789, Attachments: 2, Data: []byte(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}),
			want: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{name: "json-string", got: AppendJSONString(nil, "<a&b>\"\\\n\r\t\b\f\x00\x1f\u2028é\xff"), want: `"<a&b>\"\\\n\r\t\b\f\u0000\u001f` + "\u2028é" + `\ufffd"`},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "a\"b", "\x00\x1f\b\f\t\n\r", "<>&", "\xff\xfe", "é\u2028", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := AppendJSONString(nil, s)
		if k, ok := validJSON(enc, -1); !ok || k != kindString {
			t.Fatalf("AppendJSONString(%q) = %s: not a JSON string", s, enc)
		}
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("AppendJSONString(%q) = %s: %v", s, enc, err)
		}
		if want := string([]rune(s)); back != want {
			t.Fatalf("AppendJSONString(%q) = %s decodes to %q", s, enc, back)
		}
		if u := unquote(enc); u != back {
			t.Fatalf("unquote(%s) = %q, encoding/json %q", enc, u, back)
		}
	})
}
