package stream

import (
	"fmt"
	"strings"
	"testing"
)

// benchRegistry has 100 tenant streams; with match=all every stream lists the benchmark event,
// with match=one only stream 0 does (the others listen to other event names).
func benchRegistry(b *testing.B, withMap, all bool) *Registry {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		name := "e"
		if !all && i > 0 {
			name = fmt.Sprintf("other-%d", i)
		}
		m := ""
		if withMap {
			m = `,"map":{"timestamp":"timestamp","jobId":"payload.jobId","first":"payload.items[0].id"}`
		}
		fmt.Fprintf(&sb, `"s%03d":{"id":"s%03d","name":"S","events":[{"namespace":"n","name":%q,"criteria":{"context":{"k":"v"}}%s}]}`, i, i, name, m)
	}
	sb.WriteString("}")
	return mustBuild(b, string(CoreStreams()), map[string]string{tenantA: sb.String()})
}

func BenchmarkRoute(b *testing.B) {
	payload := `{"jobId":"job-1","items":[{"id":"i0"},{"id":"i1"}],"blob":"` + strings.Repeat("x", 512) + `"}`
	for _, match := range []string{"none", "one", "all"} {
		for _, withMap := range []bool{false, true} {
			b.Run(fmt.Sprintf("streams=100/match=%s/map=%v", match, withMap), func(b *testing.B) {
				r := benchRegistry(b, withMap, match == "all")
				name := "e"
				if match == "none" {
					name = "unlisted"
				}
				e := ev(tenantA, "n", name, "c", `{"k":"v"}`, payload)
				n := 0
				fn := func(*Stream, []byte) { n++ }
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					r.Route(e, fn)
				}
				_ = n
			})
		}
	}
}
