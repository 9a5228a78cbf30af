package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"
	"github.com/pushgate/pushgate/engine/kafka/client"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// ADSP mode on Kafka: the Kafka source resolves each record's tenantId through the tenant service
// (the same lookup the ingest uses), and tenant and configuration events arriving on the topic are
// observed as on the embedded bus: a configuration change is live within a second, a new tenant
// (unknown until then: one look-up by id lets its tenant-created event in) is listed.
func TestADSPOverKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(1, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`}`)
	kc := client.Config{Brokers: c.ListenAddrs()}
	srv := startInstance(t, engine.Config{Kafka: &kc, OIDCBase: pf.OIDCBase(), Logger: e2eQuietLogger(), DrainTimeout: -1,
		ADSP: adsp.Settings{DirectoryURL: pf.URL(), ClientID: adsptest.ClientID, ClientSecret: adsptest.ClientSecret}})
	env := &e2eEnv{t: t, srv: srv.Server, url: srv.URL(), addr: strings.TrimPrefix(srv.URL(), "http://")}
	waitfor.True(t, 10*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "updates"); return ok })

	producer, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("domain-events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	produce := func(tenant, body string) {
		t.Helper()
		if err := producer.ProduceSync(context.Background(), &kgo.Record{Key: []byte(tenant), Value: []byte(body)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	sse := env.mustSSE("/stream/v1/streams/updates?tenant=child-services", pf.UserToken(t, tn.Realm, "u", []string{"stream-listener"}, nil))
	produce(tn.ID, `{"tenantId":"`+tn.ID+`","namespace":"case-service","name":"case-updated","timestamp":"2026-01-01T00:00:00Z","payload":{"case":"k-1"}}`)
	if ev := sse.next(t); !strings.Contains(ev.Data, `"case":"k-1"`) {
		t.Fatalf("SSE event %q", ev.Data)
	}

	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`,`+adspStream("later")+`}`)
	start := time.Now()
	produce(tn.ID, `{"tenantId":"`+tn.ID+`","namespace":"configuration-service","name":"configuration-updated","timestamp":"2026-01-01T00:00:00Z",`+
		`"context":{"namespace":"platform","name":"push-service"},"payload":{"namespace":"platform","name":"push-service","revision":2}}`)
	waitfor.True(t, time.Second, `stream "later" in the registry`, func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "later"); return ok })
	t.Logf("configuration change live %v after configuration-updated on Kafka", time.Since(start).Round(time.Millisecond))

	added := pf.AddTenant("Later Tenant")
	produce(added.ID, `{"tenantId":"`+added.ID+`","namespace":"tenant-service","name":"tenant-created","timestamp":"2026-01-01T00:00:00Z","payload":{"tenant":{}}}`)
	waitfor.True(t, 10*time.Second, "the condition", func() bool {
		for _, x := range srv.Store.Tenants() {
			if x.ID == added.ID && x.Realm == added.Realm {
				return true
			}
		}
		return false
	})
}
