package interop

// Webhooks from two Kafka-mode instances sharing the webhook consumer group: in the steady state
// every delivery is sent once, by one instance, signed with the one secret both share; when an
// instance is killed with SIGKILL the other takes its partitions over and, with the killed one
// restarted on its data directory, every delivery arrives at least once, deduplicable on its
// webhook-id.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestWebhooksKafkaTwoInstances(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.SeedTopics(4, "domain-events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	tmp := t.TempDir()
	bin := pushgateBinary(t)
	var addrs, internal []string
	for range 2 {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
		internal = append(internal, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
	}
	cl := startCluster(t, bin, tmp, strings.Join(broker.ListenAddrs(), ","), "http://"+addrs[0], addrs, internal,
		"--kafka-webhook-session-timeout", "6s", "--webhook-secrets-key", "interop-secrets-key", "--webhook-retry-schedule", "0s"+strings.Repeat(",300ms", 40))
	token := productRun(t, bin, "token", "--data-dir", cl.dataDirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	cl.configure(t, token)
	rx := startHookReceiver(t)
	rx.status.Store(200)
	hook := `{"operation":"UPDATE","update":{"webhooks":{"rx":{"id":"rx","name":"RX","url":"` + rx.url + `","events":[{"namespace":"cl","name":"e"}]}}}}`
	if st, body := productHTTP(t, "PATCH", "http://"+addrs[0]+"/configuration/v2/configuration/platform/push-service", token, hook); st != 200 {
		t.Fatalf("PATCH webhook: %d %s", st, body)
	}
	secretOf := func(i int) string {
		st, body := productHTTP(t, "GET", "http://"+addrs[i]+"/push/v1/webhooks/rx/secret", token, "")
		var v struct{ Secret string }
		if st != 200 || json.Unmarshal(body, &v) != nil {
			return ""
		}
		return v.Secret
	}
	waitfor.True(t, 20*time.Second, "both instances share the webhook's secret", func() bool {
		a := secretOf(0)
		return a != "" && a == secretOf(1)
	})
	partitions := func(i int) float64 { return cl.metrics(t, i)["pushgate_webhook_group_partitions"] }
	waitfor.True(t, 30*time.Second, "the webhook group split the 4 partitions between the instances", func() bool {
		a, b := partitions(0), partitions(1)
		return a > 0 && b > 0 && a+b == 4
	})

	seq := 0
	publish := func(n int, via func(k int) int) {
		for k := range n {
			seq++
			body := fmt.Sprintf(`{"namespace":"cl","name":"e","timestamp":"2026-01-02T03:04:05Z","payload":{"seq":%d}}`, seq)
			if st, b := productHTTP(t, "POST", "http://"+addrs[via(k)]+"/event/v1/events", token, body); st != 200 {
				t.Fatalf("POST event %d: %d %s", seq, st, b)
			}
		}
	}
	seqsSeen := func() (distinct, requests int, dup map[int]int) {
		dup = map[int]int{}
		for _, q := range rx.snapshot() {
			var b struct{ Payload struct{ Seq int } }
			_ = json.Unmarshal([]byte(q.Body), &b)
			dup[b.Payload.Seq]++
			requests++
		}
		return len(dup), requests, dup
	}

	// 1. Steady state: 40 events, through both instances, each delivered exactly once.
	publish(40, func(k int) int { return k % 2 })
	waitfor.True(t, 30*time.Second, "40 deliveries", func() bool { d, _, _ := seqsSeen(); return d == 40 })
	waitfor.True(t, 10*time.Second, "nothing pending on either instance", func() bool {
		return cl.metrics(t, 0)["pushgate_webhook_pending"] == 0 && cl.metrics(t, 1)["pushgate_webhook_pending"] == 0
	})
	if _, n, _ := seqsSeen(); n != 40 {
		t.Fatalf("steady state: %d requests for 40 events, want each exactly once", n)
	}
	ids := map[string]bool{}
	secret := secretOf(0)
	for _, q := range rx.snapshot() {
		ids[q.ID] = true
		verifyStandardWebhook(t, secret, q)
	}
	if len(ids) != 40 {
		t.Fatalf("%d distinct webhook-ids for 40 deliveries", len(ids))
	}

	// 2. SIGKILL instance 2 in the middle of 60 events; instance 1 takes its partitions over; then
	// instance 2 restarts on its data directory. Every event is delivered at least once.
	publish(20, func(int) int { return 0 })
	if err := cl.procs[1].cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-cl.procs[1].done
	publish(40, func(int) int { return 0 })
	waitfor.True(t, 30*time.Second, "instance 1 took over every partition", func() bool { return partitions(0) == 4 })
	cl.start(t, bin, 1)
	waitReady(t, cl.procs[1], addrs[1])
	waitfor.True(t, 60*time.Second, "all 100 events delivered at least once", func() bool { d, _, _ := seqsSeen(); return d == 100 })
	_, n, dup := seqsSeen()
	again := 0
	for _, c := range dup {
		again += c - 1
	}
	t.Logf("kill -9 of one of two instances: 100 events, %d requests (%d sent again, same webhook-id), none lost", n, again)
	byID := map[string]string{}
	for _, q := range rx.snapshot() {
		if prev, ok := byID[q.ID]; ok && prev != q.Body {
			t.Fatalf("webhook-id %s sent with two different bodies", q.ID)
		}
		byID[q.ID] = q.Body
	}
	if len(byID) != 100 {
		t.Fatalf("%d distinct webhook-ids for 100 events", len(byID))
	}
}

// verifyStandardWebhook checks one request's v1 signature with secret (the npm standardwebhooks
// package checks every signature in webhook_test.go; this is the same formula, in Go).
func verifyStandardWebhook(t *testing.T, secret string, q hookRequest) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret is not whsec_<base64>: %v", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(q.ID + "." + q.TS + "." + q.Body))
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); !strings.Contains(" "+q.Sig+" ", " "+want+" ") {
		t.Fatalf("delivery %s is not signed with the shared secret", q.ID)
	}
}
