package engine_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"
)

// slowWebhookStateProduce is the broker delay of the fault test: every produce request carrying a
// replicated webhook state record (config-topic key "webhook:…") is answered after 3 s.
const slowWebhookStateProduce = 3 * time.Second

// A slow broker delays the webhook sender, never the registry or the API: while a webhook state
// write (a new webhook's secret) waits 3 s for the config topic, PATCHes answer fast and the
// streams they add are live when they answer. Before the typed changes, the webhook reload ran
// first among the rebuild's watchers with the bbolt transaction held across the send, so every
// PATCH behind it waited for the broker.
func TestSlowWebhookStateWriteDelaysNoPatch(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var delayed atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range req.(*kmsg.ProduceRequest).Topics {
			for _, p := range tp.Partitions {
				if bytes.Contains(p.Records, []byte("webhook:")) {
					delayed.Add(1)
					c.SleepControl(func() { time.Sleep(slowWebhookStateProduce) })
					return nil, nil, false
				}
			}
		}
		return nil, nil, false
	})
	kc := client.Config{Brokers: c.ListenAddrs(), PublishTimeout: 10 * time.Second}
	in := startInstance(t, engine.Config{Kafka: &kc})
	iss, err := devissuer.Load(in.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener", "urn:ads:platform:configuration-service:configuration-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(receiver.Close)
	const path = "/configuration/v2/configuration/platform/push-service"
	timed := func(body string) time.Duration {
		start := time.Now()
		if code := do(t, "PATCH", in.URL()+path, tok, body); code != 200 {
			t.Fatalf("PATCH %s: %d", body, code)
		}
		return time.Since(start)
	}
	var hookPatches, streamPatches, live []time.Duration
	for i := range 3 {
		// Each round adds a webhook (its new secret is written through the slow broker) and then a
		// stream, which must be live when its PATCH answers.
		hookPatches = append(hookPatches, timed(fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"h%d":{"id":"h%d","name":"H","url":%q,"events":[{"namespace":"shop","name":"x"}]}}}}`, i, i, receiver.URL)))
		start := time.Now()
		id := fmt.Sprintf("s%d", i)
		streamPatches = append(streamPatches, timed(fmt.Sprintf(`{"operation":"UPDATE","update":{%q:{"id":%q,"name":"S","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"x"}]}}}`, id, id)))
		if body := get(t, in.URL()+"/stream/v1/streams", tok); !strings.Contains(body, `"`+id+`"`) {
			t.Fatalf("stream %s not listed when its PATCH answered: %s", id, body)
		}
		live = append(live, time.Since(start))
	}
	if delayed.Load() == 0 {
		t.Fatal("no webhook state record went through the broker: the fault was not exercised")
	}
	p99 := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[(len(s)*99+99)/100-1]
	}
	t.Logf("broker delay %v on %d webhook state produce requests: PATCH adding a webhook p99 %v, PATCH adding a stream p99 %v, new stream live p99 %v (%d rounds)",
		slowWebhookStateProduce, delayed.Load(), p99(hookPatches), p99(streamPatches), p99(live), len(live))
	// The PATCH that adds a webhook answers once the sender matches with it; its secret is written
	// through the slow broker afterwards, with no store transaction or sender lock held.
	if p99(hookPatches) >= slowWebhookStateProduce/2 {
		t.Errorf("a slow webhook state write delayed the PATCH that caused it: p99 %v (broker delay %v)", p99(hookPatches), slowWebhookStateProduce)
	}
	// The next PATCH's own record is not queued behind the slow one (its own producer), and its
	// stream is live when it answers.
	if p99(streamPatches) >= slowWebhookStateProduce/2 || p99(live) >= slowWebhookStateProduce/2 {
		t.Errorf("a slow webhook state write delayed the next PATCH: p99 %v, stream live p99 %v (broker delay %v)", p99(streamPatches), p99(live), slowWebhookStateProduce)
	}
}
