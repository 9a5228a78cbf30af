package socketio

import "testing"

var benchArg = []byte(`{"id":"01J8Z","stream":"orders","payload":{"orderId":12345,"status":"shipped","items":[1,2,3]}}`)

func BenchmarkAppendEvent(b *testing.B) {
	for _, nsp := range []string{"/", "/tenant-a"} {
		b.Run("nsp="+nsp, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, 256)
			for b.Loop() {
				dst = AppendEvent(dst[:0], nsp, "stream-event", benchArg)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{name: "event", in: `2["stream-event",` + string(benchArg) + `]`},
		{name: "event-nsp-ack", in: `2/tenant-a,17["stream-event",` + string(benchArg) + `]`},
		{name: "binary", in: `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{name: "connect", in: `0/custom,{"token":"abc"}`},
	} {
		b.Run("packet="+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			in := []byte(tc.in)
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Decode(in, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSplitEvent(b *testing.B) {
	b.ReportAllocs()
	data := []byte(`["message",1,"2",{"3":[true]}]`)
	for b.Loop() {
		_, _, _ = SplitEvent(data)
	}
}

func BenchmarkValidJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchArg)))
	for b.Loop() {
		validJSON(benchArg, -1)
	}
}
