package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// The first deployment of issue 10: a fresh broker with only the events topic (auto topic
// creation allowed, as on many clusters). Both instances must create the configuration topic
// themselves and become ready; before, they retried "config topic unavailable" forever.
func TestKafkaFreshClusterWithOnlyTheEventsTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := client.Config{Brokers: c.ListenAddrs()}
	a := startInstance(t, engine.Config{Kafka: &kc})
	startInstance(t, engine.Config{Kafka: &kc, OIDCBase: a.URL() + "/auth"})
}

// startUnready starts an instance without waiting for /readyz.
func startUnready(t *testing.T, cfg engine.Config) instance {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return instance{srv, cfg.DataDir}
}

// call sends a request and returns the status, the Retry-After header and the body.
func call(t *testing.T, method, url, tok, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// errorMessage decodes the ADSP error body.
func errorMessage(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorMessage == "" {
		t.Fatalf("not an error body: %q (%v)", body, err)
	}
	return e.ErrorMessage
}

// No topic at all: the configuration topic is created, the events topic is not. /readyz says why
// (503, JSON errorMessage with the kafka-topics.sh command), writes answer 503 with Retry-After;
// once the operator creates the events topic the instance becomes ready, without a restart, and
// takes writes.
func TestKafkaNoTopicsNotReadyUntilTheEventsTopicExists(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := client.Config{Brokers: c.ListenAddrs()}
	in := startUnready(t, engine.Config{Kafka: &kc})
	var reason string
	waitfor.Check(t, 10*time.Second, func() error {
		code, _, body := call(t, "GET", in.URL()+"/readyz", "", "")
		if code != 503 {
			return fmt.Errorf("/readyz %d %s", code, body)
		}
		reason = errorMessage(t, body)
		if !strings.Contains(reason, `events topic "domain-events" does not exist`) {
			return fmt.Errorf("reason %q", reason)
		}
		return nil
	})
	if want := "kafka-topics.sh --bootstrap-server " + kc.Brokers[0] + " --create --topic domain-events"; !strings.Contains(reason, want) {
		t.Fatalf("reason %q lacks %q", reason, want)
	}

	iss, err := devissuer.Load(in.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(realm string, roles ...string) string {
		tok, err := iss.Mint(devissuer.Claims{Realm: realm, Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tenantTok := mint("demo", "urn:ads:platform:event-service:event-sender", "urn:ads:platform:configuration-service:configuration-admin")
	coreTok := mint("core", "urn:ads:platform:tenant-service:platform-service")
	event := `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{}}`
	patch := `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","events":[{"namespace":"shop","name":"order-placed"}]}}}`
	writes := []struct{ method, path, tok, body string }{
		{"POST", "/event/v1/events", tenantTok, event},
		{"PATCH", "/configuration/v2/configuration/platform/push-service", tenantTok, patch},
		{"POST", "/tenant/v2/tenants", coreTok, `{"name":"Acme"}`},
	}
	for _, w := range writes {
		code, retry, body := call(t, w.method, in.URL()+w.path, w.tok, w.body)
		if code != 503 || retry == "" || !strings.Contains(errorMessage(t, body), "starting") || !strings.Contains(body, "domain-events") {
			t.Fatalf("%s %s during start-up: %d Retry-After %q %s", w.method, w.path, code, retry, body)
		}
	}

	admin, err := kgo.NewClient(kgo.SeedBrokers(kc.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "domain-events", 3, 1
	req.Topics = append(req.Topics, rt)
	if resp, err := req.RequestWith(context.Background(), admin); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create the events topic: %v %+v", err, resp)
	}
	waitfor.Check(t, 15*time.Second, func() error {
		if code, _, body := call(t, "GET", in.URL()+"/readyz", "", ""); code != 200 {
			return fmt.Errorf("/readyz %d %s", code, body)
		}
		return nil
	})
	for _, w := range writes {
		if code, _, body := call(t, w.method, in.URL()+w.path, w.tok, w.body); code != 200 && code != 201 {
			t.Fatalf("%s %s once ready: %d %s", w.method, w.path, code, body)
		}
	}
}
