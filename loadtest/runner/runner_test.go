package runner

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/internal/fakesrv"
	"github.com/pushgate/pushgate/loadtest/publish"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestRunAgainstFakeServer(t *testing.T) {
	tests := []struct {
		kind  client.Kind
		conns int
		slow  float64
	}{
		{client.KindWS, 150, 0},
		{client.KindUpgrade, 60, 0},
		{client.KindSSE, 100, 0},
		{client.KindWS, 100, 0.1},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			srv := fakesrv.Start(t, fakesrv.Options{ChunkedSSE: true})
			target := netip.MustParseAddrPort(srv.Addr)
			cfg := Config{
				Kind: tc.kind, Target: target, Conns: tc.conns, Workers: 2, Inflight: 50, SlowFraction: tc.slow,
				Sources: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")},
				Client: client.Config{Host: srv.Addr, Namespace: "/demo", Auth: []byte(`{"token":"x"}`),
					Query: "stream=bench", SSEPath: "/stream/v1/streams/bench?tenant=demo"},
			}
			l, err := Start(cfg)
			if err != nil {
				t.Fatal(err)
			}
			<-l.Ramped()
			waitfor.True(t, 10*time.Second, "subscribers", func() bool { return srv.Subscribers() == tc.conns })
			if p := l.Progress(); p.Ready != int64(tc.conns) || p.Failed != 0 {
				t.Fatalf("after ramp: %s", p)
			}
			pub := publish.New(publish.Config{URL: "http://" + srv.Addr, PayloadBytes: 300})
			st := pub.Run(context.Background(), 0, 200, 2, 50*time.Millisecond)
			if st.Published == 0 || st.Errors != 0 {
				t.Fatalf("publisher: %+v", st)
			}
			readers := int64(tc.conns) - int64(float64(tc.conns)*tc.slow)
			want := readers * st.Published
			waitfor.True(t, 10*time.Second, "deliveries", func() bool { return l.Progress().Deliveries >= want })
			rs := l.Finish([]Step{StepFrom(st, l.Progress().Ready)}, pub.Log(), true)
			step, sum := rs[0], rs[1]
			if step.Deliveries != want || sum.Deliveries != want || step.Expected != want || sum.Lost != 0 || sum.Dup != 0 || sum.OutOfOrder != 0 {
				t.Fatalf("deliveries %d/%d want %d, expected %d lost %d dup %d ooo %d", step.Deliveries, sum.Deliveries, want, step.Expected, sum.Lost, sum.Dup, sum.OutOfOrder)
			}
			if sum.Failed != 0 || sum.Dropped != 0 || sum.Errors != 0 || sum.Connect.Count() != uint64(tc.conns) {
				t.Fatalf("failed %d dropped %d errors %d connects %d (%s)", sum.Failed, sum.Dropped, sum.Errors, sum.Connect.Count(), sum.FirstError)
			}
			if sum.Slow != int64(float64(tc.conns)*tc.slow) {
				t.Fatalf("slow %d", sum.Slow)
			}
			if step.P99Ms <= 0 || step.MaxMs < step.P50Ms {
				t.Fatalf("latency fields %+v", step)
			}
			if tc.kind != client.KindSSE && tc.slow == 0 && sum.Pings < int64(tc.conns) {
				t.Fatalf("pings answered %d", sum.Pings)
			}
		})
	}
}

func TestRefusedClientsAreFailures(t *testing.T) {
	srv := fakesrv.Start(t, fakesrv.Options{Refuse: true})
	l, err := Start(Config{Kind: client.KindWS, Target: netip.MustParseAddrPort(srv.Addr), Conns: 20, Workers: 1,
		Client: client.Config{Host: srv.Addr, Namespace: "/demo"}})
	if err != nil {
		t.Fatal(err)
	}
	<-l.Ramped()
	rs := l.Finish(nil, nil, false)
	sum := rs[len(rs)-1]
	if sum.Failed != 20 || sum.ErrorKinds["refused"] != 20 || sum.Errors != 20 {
		t.Fatalf("failed %d kinds %v", sum.Failed, sum.ErrorKinds)
	}
}

func TestDialErrorIsCounted(t *testing.T) {
	// Nothing listens on port 1 of 127.0.0.1: connect fails with ECONNREFUSED.
	l, err := Start(Config{Kind: client.KindSSE, Target: netip.MustParseAddrPort("127.0.0.1:1"), Conns: 5, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	<-l.Ramped()
	sum := l.Finish(nil, nil, false)[1]
	if sum.Failed != 5 || sum.ErrorKinds["dial"] != 5 {
		t.Fatalf("failed %d kinds %v", sum.Failed, sum.ErrorKinds)
	}
}

func TestIsSlow(t *testing.T) {
	tests := []struct {
		n    int
		f    float64
		want int
	}{{100, 0.05, 5}, {100, 0, 0}, {100, 1, 100}, {1000, 0.013, 13}}
	for _, tc := range tests {
		got := 0
		for i := 0; i < tc.n; i++ {
			if isSlow(i, tc.f) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("isSlow(%d, %v) = %d, want %d", tc.n, tc.f, got, tc.want)
		}
	}
}
