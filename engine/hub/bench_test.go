package hub

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
)

func buildB(b testing.TB, doc string) *stream.Registry {
	b.Helper()
	reg, err := stream.Build(nil, map[string][]byte{tenant: []byte(doc)})
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

func key(b testing.TB, reg *stream.Registry, id string) string {
	b.Helper()
	s, ok := reg.Lookup(tenant, id)
	if !ok {
		b.Fatalf("stream %q not in the registry", id)
	}
	return s.Key()
}

// countSink counts deliveries and queues nothing (the cost measured is the hub's).
type countSink struct{ n *atomic.Int64 }

func (s countSink) Deliver(*Item) (conn.Link, conn.Outcome) { s.n.Add(1); return nil, conn.Queued }
func (s countSink) End(conn.CloseReason)                    {}

// slowSink is a subscriber whose every Deliver takes d (a session lock held by a slow polling
// answer, a congested link). It spins: a sleep would last a timer tick, not d.
type slowSink struct{ d time.Duration }

func (s slowSink) Deliver(*Item) (conn.Link, conn.Outcome) {
	for t0 := time.Now(); time.Since(t0) < s.d; {
	}
	return nil, conn.Queued
}
func (s slowSink) End(conn.CloseReason) {}

const twoStreamDoc = `{"s":{"id":"s","name":"S","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]},` +
	`"t":{"id":"t","name":"T","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]}}`

// BenchmarkSubscribeSlowShard measures the latency of Subscribe (a CONNECT, an SSE request)
// while events flow and one of two shards is slow (its one subscriber takes 20µs per item, so
// the shard's queue stays full and the publisher blocks on it). The subscribers measured are on
// another stream and are spread over both shards; they arrive one at a time with a pause in
// between, as independent clients do (back-to-back calls from one goroutine would measure the
// mutex's barging instead). Reported: the mean, p50, p99 and max of one Subscribe.
func BenchmarkSubscribeSlowShard(b *testing.B) {
	reg := buildB(b, twoStreamDoc)
	h := New(Config{Shards: 2}, reg)
	defer h.Close()
	slow := &Subscription{Stream: key(b, reg, "s"), StreamID: "s", Scope: tenant, Principal: auth.AnonymousPrincipal, Sink: slowSink{20 * time.Microsecond}}
	h.Subscribe(slow, "", nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ev := event("e", false)
		for {
			select {
			case <-stop:
				return
			default:
				h.Publish(ev)
			}
		}
	}()
	// Let the slow shard's queue fill before measuring.
	for len(shardOf(slow).ch) < cap(shardOf(slow).ch)/2 {
		time.Sleep(time.Millisecond)
	}
	var n atomic.Int64
	lat := make([]time.Duration, 0, b.N)
	tk := key(b, reg, "t")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sub := &Subscription{Stream: tk, StreamID: "t", Scope: tenant, Principal: auth.AnonymousPrincipal, Sink: countSink{&n}}
		t0 := time.Now()
		h.Subscribe(sub, "", nil)
		lat = append(lat, time.Since(t0))
		h.Unsubscribe(sub)
		time.Sleep(100 * time.Microsecond) // the next client arrives independently
	}
	b.StopTimer()
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/subscribe")
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
}

// BenchmarkPublishBatch measures the batch path: each event matches two streams (two items),
// fanned out to subs subscribers of each.
func BenchmarkPublishBatch(b *testing.B) {
	for _, subs := range []int{100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			reg := buildB(b, twoStreamDoc)
			h := New(Config{}, reg)
			defer h.Close()
			var n atomic.Int64
			for _, id := range []string{"s", "t"} {
				k := key(b, reg, id)
				for range subs {
					h.Subscribe(&Subscription{Stream: k, StreamID: id, Scope: tenant, Principal: auth.AnonymousPrincipal, Sink: countSink{&n}}, "", nil)
				}
			}
			events := make([]*source.Event, 64)
			for i := range events {
				events[i] = event(fmt.Sprint(i), false)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Publish(events[i%len(events)])
			}
			want := int64(b.N) * int64(2*subs)
			for n.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/delivery")
		})
	}
}
