package kafka

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
)

// outage produces a burst, stops the broker right after the acks (the consumer is usually still
// behind), keeps it down for d, restarts it on the same port and data dir, produces again, and
// checks that every seq is delivered exactly once and in partition order. It returns the time from
// the restart to the delivery of the first event produced after it.
func outage(t *testing.T, d time.Duration, cfgFn func(*client.Config)) time.Duration {
	b := kafkatest.NewBroker(t)
	cfg := kafkatest.Config(b)
	cfgFn(&cfg)
	s, c := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 600)
	b.Stop()
	down := time.Now()
	kafkatest.CheckFor(t, d+15*time.Second, func() error {
		if s.Ready() == nil {
			return fmt.Errorf("still ready %s into the outage", time.Since(down).Round(time.Millisecond))
		}
		return nil
	})
	if rest := d - time.Since(down); rest > 0 {
		time.Sleep(rest) // the outage itself, not a wait for a result
	}
	b.Start()
	up := time.Now()
	p2 := kafkatest.NewProducer(t, b)
	p2.Seqs(600, 603)
	kafkatest.CheckFor(t, 20*time.Second, func() error {
		if n := c.Len(); n < 603 {
			return fmt.Errorf("%d of 603 delivered", n)
		}
		return nil
	})
	resume := c.FirstAt(600).Sub(up)
	kafkatest.CheckFor(t, 5*time.Second, s.Ready)
	kafkatest.CheckExactly(t, c.Snapshot(), 0, 603)
	t.Logf("outage %s: first new event delivered %s after the broker came back (ready again %s later); fetch errors %d, reconnects %d",
		d, resume.Round(time.Millisecond), time.Since(up).Round(time.Millisecond), s.Stats().FetchErrors.Load(), s.Stats().Reconnects.Load())
	return resume
}

// hang swallows every Fetch request for d (no answer, connection kept open) while events keep
// being produced, then lets fetches through again. It returns the time from the end of the hang to
// the delivery of the last event produced during it.
func hang(t *testing.T, d time.Duration, cfgFn func(*client.Config)) time.Duration {
	b := kafkatest.NewBroker(t)
	cfg := kafkatest.Config(b)
	cfgFn(&cfg)
	s, c := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 30)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := c.Len(); n < 30 {
			return fmt.Errorf("%d of 30", n)
		}
		return nil
	})
	var hanging atomic.Bool
	hanging.Store(true)
	cl := b.Cluster()
	cl.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		return nil, nil, hanging.Load() // handled without a response: the client times out
	})
	start := time.Now()
	seq := 30
	for time.Since(start) < d { // keep producing through the hang
		p.Seqs(seq, seq+3)
		seq += 3
		time.Sleep(50 * time.Millisecond)
	}
	hanging.Store(false)
	end := time.Now()
	kafkatest.CheckFor(t, 20*time.Second, func() error {
		if n := c.Len(); n < seq {
			return fmt.Errorf("%d of %d delivered", n, seq)
		}
		return nil
	})
	resume := c.FirstAt(seq - 1).Sub(end)
	kafkatest.CheckExactly(t, c.Snapshot(), 0, seq)
	t.Logf("hang %s: %d events produced during it, all delivered %s after it ended; fetch errors %d, reconnects %d",
		d, seq-30, resume.Round(time.Millisecond), s.Stats().FetchErrors.Load(), s.Stats().Reconnects.Load())
	return resume
}

func TestBrokerOutage(t *testing.T) {
	if r := outage(t, 2*time.Second, testTimings); r > 2*time.Second {
		t.Errorf("resumed %s after recovery, want <= 2s", r)
	}
}

func TestBrokerHang(t *testing.T) {
	if r := hang(t, 2*time.Second, testTimings); r > 2*time.Second {
		t.Errorf("resumed %s after the hang, want <= 2s", r)
	}
}

func TestSlowBroker(t *testing.T) {
	b := kafkatest.NewBroker(t)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	cl := b.Cluster()
	var slowed atomic.Int32
	cl.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		if slowed.Add(1) <= 20 {
			cl.SleepControl(func() { time.Sleep(200 * time.Millisecond) })
		}
		return nil, nil, false
	})
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 90)
	kafkatest.CheckFor(t, 20*time.Second, func() error {
		if n := c.Len(); n < 90 {
			return fmt.Errorf("%d of 90", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, c.Snapshot(), 0, 90)
}

func TestLeaderChange(t *testing.T) {
	b := kafkatest.NewBroker(t)
	cl := b.Cluster()
	if _, _, err := cl.AddNode(-1, 0); err != nil {
		t.Fatal(err)
	}
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	p := kafkatest.NewProducer(t, b)
	for i := 0; i < 6; i++ {
		p.Seqs(i*30, i*30+30)
		cl.ShufflePartitionLeaders()
	}
	kafkatest.CheckFor(t, 20*time.Second, func() error {
		if n := c.Len(); n < 180 {
			return fmt.Errorf("%d of 180", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, c.Snapshot(), 0, 180)
}

// testTimings keeps the short timings of testConfig.
func testTimings(*client.Config) {}

// productionTimings resets the fetch timings to the defaults (MaxWait 1s, BackoffMax 1s,
// DiscoveryInterval 5s) but keeps a short ReadyWindow so that the outage is noticed quickly.
func productionTimings(c *client.Config) {
	c.MaxWait, c.BackoffMax, c.DiscoveryInterval = 0, 0, 0
}
