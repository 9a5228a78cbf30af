package socketio

import (
	"errors"
	"testing"
)

func TestSplitEvent(t *testing.T) {
	for _, tc := range []struct {
		data string
		name string
		args string
		err  error
	}{
		{data: `["message",1,"2",{"3":[true]}]`, name: "message", args: `1,"2",{"3":[true]}`},
		{data: `["message-with-ack",1,"2",{"3":[false]}]`, name: "message-with-ack", args: `1,"2",{"3":[false]}`},
		{data: `["message"]`, name: "message"},
		{data: ` [ "a\"b\u00e9\ud83d\ude00" , 1 , 2 ] `, name: "a\"bé😀", args: `1 , 2`},
		{data: `[42,"x"]`, name: "42", args: `"x"`},
		{data: `[-1.5e3]`, name: "-1.5e3"},
		{data: `["\ud800x"]`, name: "\ufffdx"},
		{data: `["m",{"_placeholder":true,"num":0}]`, name: "m", args: `{"_placeholder":true,"num":0}`},
		{data: `[]`, err: ErrBadPayload},
		{data: `{}`, err: ErrBadPayload},
		{data: `[true]`, err: ErrBadPayload},
		{data: `["a",`, err: ErrBadPayload},
		{data: ``, err: ErrBadPayload},
	} {
		name, args, err := SplitEvent([]byte(tc.data))
		if !errors.Is(err, tc.err) || name != tc.name || string(args) != tc.args {
			t.Errorf("SplitEvent(%s) = %q, %q, %v; want %q, %q, %v", tc.data, name, args, err, tc.name, tc.args, tc.err)
		}
	}
}

func TestArrayElements(t *testing.T) {
	for _, tc := range []struct {
		data, want string
		err        error
	}{
		{data: `[1,"2",{"3":[false]}]`, want: `1,"2",{"3":[false]}`},
		{data: ` [ ] `, want: ``},
		{data: `[ 1 ]`, want: `1`},
		{data: `{}`, err: ErrBadPayload},
		{data: `[`, err: ErrBadPayload},
	} {
		got, err := ArrayElements([]byte(tc.data))
		if !errors.Is(err, tc.err) || string(got) != tc.want {
			t.Errorf("ArrayElements(%s) = %q, %v; want %q, %v", tc.data, got, err, tc.want, tc.err)
		}
	}
}

func TestValidatePlaceholders(t *testing.T) {
	for _, tc := range []struct {
		data string
		n    int
		err  error
	}{
		{data: `["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, n: 2},
		{data: `["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, n: 1, err: ErrBadAttachments},
		{data: `["m",{"x":{"y":[{"_placeholder":true,"num":2}]}}]`, n: 3},
		{data: `["m",{"x":{"y":[{"_placeholder":true,"num":3}]}}]`, n: 3, err: ErrBadAttachments},
		{data: `["m",{"_placeholder":false,"num":99}]`, n: 0},
		{data: `["m",{"num":99,"_placeholder":true}]`, n: 0, err: ErrBadAttachments},
		{data: `["m",{"num":0,"_placeholder":true}]`, n: 1},
		{data: `["m",{"\u005fplaceholder":true,"n\u0075m":7}]`, n: 1, err: ErrBadAttachments},
		{data: `["m",{"_placeholder":true,"num":7,"num":0}]`, n: 1},
		{data: `["m",{"_placeholder":true,"num":0,"_placeholder":false,"num":9}]`, n: 1},
		{data: `["m",{"_placeholder":true,"num":0}]`, n: -1, err: ErrBadAttachments},
		{data: `["m",`, n: 1, err: ErrBadPayload},
	} {
		if err := ValidatePlaceholders([]byte(tc.data), tc.n); !errors.Is(err, tc.err) {
			t.Errorf("ValidatePlaceholders(%s, %d) = %v, want %v", tc.data, tc.n, err, tc.err)
		}
	}
}
