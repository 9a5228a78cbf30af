package client

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pushgate/pushgate/loadtest/internal/fakesrv"

	"github.com/pushgate/pushgate/internal/waitfor"
)

type delivery struct {
	sentAt int64
	step   int
}

type sinkRec struct{ got []delivery }

func (s *sinkRec) Delivered(now, sentAt int64, step int) {
	s.got = append(s.got, delivery{sentAt, step})
}

// drive runs m over real TCP connections to addr (blocking, test only) until
// done reports true or the machine closes. onReady runs once, on this
// goroutine, when the machine becomes Ready.
func drive(t *testing.T, addr string, m Machine, onReady func(), done func(*State) bool) error {
	t.Helper()
	var out []byte
	readyRan := false
	buf := make([]byte, 4096)
	for dials := 0; dials < 3; dials++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		out = m.Begin(time.Now().UnixNano(), out[:0])
		for {
			if len(out) > 0 {
				if _, err := c.Write(out); err != nil {
					return err
				}
				out = out[:0]
			}
			st := m.State()
			if st.Phase == Ready && !readyRan {
				readyRan = true
				onReady()
			}
			if done(st) {
				return nil
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			var nx Next
			out, nx, err = m.Feed(time.Now().UnixNano(), buf[:n], out)
			if nx == Close {
				if len(out) > 0 {
					_, _ = c.Write(out)
				}
				m.State().End(time.Now().UnixNano(), err)
				return err
			}
			if nx == Redial {
				if len(out) > 0 {
					_, _ = c.Write(out)
				}
				c.Close()
				break
			}
		}
	}
	return errors.New("too many redials")
}

func event(seq int64, step int) []byte {
	return []byte(fmt.Sprintf(`{"namespace":"bench","name":"tick","payload":{"sentAt":%d,"seq":%d,"step":%d,"pad":"xx"}}`, time.Now().UnixNano(), seq, step))
}

func TestMachinesAgainstFakeServer(t *testing.T) {
	tests := []struct {
		kind    Kind
		chunked bool
	}{{KindWS, false}, {KindUpgrade, false}, {KindSSE, false}, {KindSSE, true}}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/chunked=%v", tc.kind, tc.chunked), func(t *testing.T) {
			srv := fakesrv.Start(t, fakesrv.Options{ChunkedSSE: tc.chunked})
			cfg := &Config{Host: srv.Addr, Namespace: "/demo", Auth: []byte(`{"token":"t"}`), Query: "stream=bench",
				SSEPath: "/stream/v1/streams/bench?tenant=demo"}
			sink := &sinkRec{}
			m, err := New(tc.kind, cfg, sink, 7)
			if err != nil {
				t.Fatal(err)
			}
			seqs := []int64{1, 2, 2, 4, 3}
			err = drive(t, srv.Addr, m, func() {
				waitfor.True(t, 5*time.Second, "subscription", func() bool { return srv.Subscribers() == 1 })
				for _, s := range seqs {
					srv.Broadcast(event(s, 3))
				}
			}, func(st *State) bool { return st.Track.Got == int64(len(seqs)) })
			if err != nil {
				t.Fatalf("drive: %v", err)
			}
			st := m.State()
			tr := &st.Track
			if st.Phase != Ready || tr.Distinct() != 4 || tr.Dup != 1 || tr.OOO != 1 || tr.Gaps() != 0 {
				t.Fatalf("phase %v distinct %d dup %d ooo %d gaps %d", st.Phase, tr.Distinct(), tr.Dup, tr.OOO, tr.Gaps())
			}
			if len(sink.got) != len(seqs) || sink.got[0].step != 3 || sink.got[0].sentAt == 0 {
				t.Fatalf("sink got %+v", sink.got)
			}
			if tc.kind != KindSSE {
				waitfor.True(t, 5*time.Second, "pong", func() bool { return srv.Pongs.Load() >= 1 })
				if st.Pings < 1 {
					t.Fatalf("pings answered = %d", st.Pings)
				}
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	for _, k := range []Kind{KindWS, KindUpgrade} {
		t.Run(string(k), func(t *testing.T) {
			srv := fakesrv.Start(t, fakesrv.Options{Refuse: true})
			cfg := &Config{Host: srv.Addr, Namespace: "/demo"}
			m, _ := New(k, cfg, nil, 1)
			err := drive(t, srv.Addr, m, func() {}, func(*State) bool { return false })
			if !errors.Is(err, ErrRefused) || m.State().Phase != Failed {
				t.Fatalf("err %v phase %v", err, m.State().Phase)
			}
		})
	}
}

func TestSSERefusedStatus(t *testing.T) {
	srv := fakesrv.Start(t, fakesrv.Options{})
	cfg := &Config{Host: srv.Addr, SSEPath: "/nope"}
	m, _ := New(KindSSE, cfg, nil, 1)
	err := drive(t, srv.Addr, m, func() {}, func(*State) bool { return false })
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v", err)
	}
}
