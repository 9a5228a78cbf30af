package adspevent

import "testing"

// BenchmarkConvert: one ADSP message (headers with context and traceparent, a small payload) to
// the canonical event, as the stream and webhook consumers do for every message.
func BenchmarkConvert(b *testing.B) {
	m := adspMessage()
	m.Body = []byte(`{"jobId":"job-1","fileId":"urn:ads:platform:file-service:v1:/files/1","templateId":"t","pages":3}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := Convert(m, resolveURN); rej != nil {
			b.Fatal(rej)
		}
	}
}
