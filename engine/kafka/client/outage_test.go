package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
)

// TestOutageLogRate: an outage logs its start once, its continuation at most every
// OutageLogInterval (with the failed requests in between), and its end once with its length; a
// metadata answer ends it only when no request failed lately (a partition that still fails keeps
// it open: no lost/recovered flapping).
func TestOutageLogRate(t *testing.T) {
	var logs kafkatest.LogCapture
	o := client.NewOutage(logs.Logger(), "reading topic x")
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	client.SetNow(o, func() time.Time { return now })
	for i := range 100 { // a failed request every 100 ms for 10 s
		now = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		o.Fail("fetch", fmt.Errorf("refused"))
	}
	o.OKIfQuiet(3 * time.Second) // the brokers answer metadata, but a reader failed just now
	if o.Err() == nil {
		t.Fatal("ended by a metadata answer while a reader still fails")
	}
	now = t0.Add(client.OutageLogInterval + time.Second)
	o.Fail("fetch", fmt.Errorf("refused"))
	now = now.Add(4 * time.Second)
	o.OKIfQuiet(3 * time.Second)
	if err := o.Err(); err != nil {
		t.Fatalf("still lost after a quiet metadata answer: %v", err)
	}
	if n := len(logs.Lines("source lost: reading topic x")); n != 1 {
		t.Errorf("start logged %d times", n)
	}
	if l := logs.Lines("source still lost", "failed_requests=100"); len(l) != 1 {
		t.Errorf("continuation: %q\n%s", l, logs.String())
	}
	if l := logs.Lines("level=INFO", "source recovered", "outage=35s"); len(l) != 1 {
		t.Errorf("end: %q\n%s", l, logs.String())
	}
}
