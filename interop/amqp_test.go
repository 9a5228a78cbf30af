package interop

// Two instances on RabbitMQ, events published by amqplib as the ADSP event service publishes
// them: every instance's SSE subscribers get every event of their stream (and none of the
// others), and each event's webhook is sent once, by one instance.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestAMQPTwoInstancesADSPPublisher(t *testing.T) {
	dir, node := nodeClients(t)
	broker := startRabbit(t)
	bin := pushgateBinary(t)
	tmp := t.TempDir()
	dirs := []string{filepath.Join(tmp, "i1"), filepath.Join(tmp, "i2")}
	var addrs []string
	for range dirs {
		addrs = append(addrs, freeAddr(t))
	}
	public := "http://" + addrs[0]
	start := func(i int) *proc {
		p := startLogged(t, exec.Command(bin, "serve", "--listen", addrs[i], "--data-dir", dirs[i], "--public-url", public,
			"--amqp-url", broker.URL, "--log-level", "warn", "--drain-timeout", "200ms", "--webhook-retry-schedule", "0s,200ms,200ms"), fmt.Sprintf("pushgate%d", i+1))
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
		waitReady(t, p, addrs[i])
		return p
	}
	// Instance 1 is configured, stopped and its data dir copied: both instances then share the
	// tenant (as with ADSP's tenant service), the stream, the webhook and its secret.
	p1 := start(0)
	token := productRun(t, bin, "token", "--data-dir", dirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	rx := startHookReceiver(t)
	rx.status.Store(200)
	cfg := `{"operation":"UPDATE","update":{"cl":{"id":"cl","name":"Cluster","subscriberRoles":[],"events":[{"namespace":"cl","name":"e"}]},` +
		`"proj":{"id":"proj","name":"Projected","subscriberRoles":[],"events":[{"namespace":"cl","name":"e","criteria":{"context":{"parity":"even"}},` +
		`"map":{"seq":"payload.seq","corr":"correlationId","trace":"traceparent","at":"timestamp"}}]},` +
		`"webhooks":{"rx":{"id":"rx","name":"RX","url":"` + rx.url + `","events":[{"namespace":"cl","name":"e"}]}}}}`
	if st, body := productHTTP(t, "PATCH", public+"/configuration/v2/configuration/platform/push-service", token, cfg); st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	tenant := productTenantURN(t, public, token, "demo")
	_ = p1.cmd.Process.Signal(os.Interrupt)
	<-p1.done
	copyDir(t, dirs[0], dirs[1])
	start(0)
	start(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sse []*productSSE
	for _, a := range addrs {
		productWaitStreamListed(t, "http://"+a, token, "demo", "cl")
		s := productOpenSSE(t, ctx, "http://"+a+"/stream/v1/streams/cl", token)
		t.Cleanup(s.close)
		sse = append(sse, s)
	}
	const n = 30
	// Metrics of the RabbitMQ consumers.
	defer func() {
		resp, err := http.Get("http://" + addrs[0] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^pushgate_amqp_acked_total\{queue="streams"\} (\d+)`).FindSubmatch(body)
		if m == nil || !strings.Contains(string(body), `pushgate_amqp_rejected_total{queue="webhooks",reason="unknown-tenant"} 0`) {
			t.Fatalf("AMQP metrics missing:\n%s", body)
		}
		if acked, _ := strconv.Atoi(string(m[1])); acked < n+5 {
			t.Fatalf("pushgate_amqp_acked_total{queue=\"streams\"} = %d, want at least %d", acked, n+5)
		}
	}()
	// Socket.IO (stock client, WebSocket) on both instances: the projected, filtered stream.
	sio := exec.Command(node, "amqp-sio.mjs")
	sio.Dir = dir
	sio.Env = append(os.Environ(), "URLS=http://"+addrs[0]+",http://"+addrs[1], "PUSHGATE_TOKEN="+token, "STREAM=proj", "EVENT=cl:e", "WANT=15")
	sioOut, err := sio.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sio.Stderr = os.Stderr
	if err := sio.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sio.Process.Kill(); _ = sio.Wait() })
	sioLines := bufio.NewScanner(sioOut)
	sioLines.Buffer(make([]byte, 1<<20), 1<<20)
	if !sioLines.Scan() || sioLines.Text() != "READY" {
		t.Fatalf("amqp-sio.mjs: %q", sioLines.Text())
	}
	publish := func(name string, count, from int) {
		cmd := exec.Command(node, "amqp-publish.mjs", broker.URL, tenant, strconv.Itoa(count), "cl", name, strconv.Itoa(from))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("amqp-publish.mjs: %v\n%s", err, out)
		}
	}
	publish("other", 5, 1000) // another event type: filtered out
	publish("e", n, 1)
	for i, s := range sse {
		for seq := 1; seq <= n; seq++ {
			line := s.nextLine(t, 30*time.Second)
			for !strings.HasPrefix(line, "data:") {
				line = s.nextLine(t, 30*time.Second)
			}
			var ev struct {
				TenantID, Namespace, Name, CorrelationID, Traceparent, Timestamp string
				Context                                                          map[string]any
				Payload                                                          struct{ Seq int }
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data:")), &ev); err != nil {
				t.Fatalf("instance %d: %v: %s", i+1, err, line)
			}
			if ev.Payload.Seq != seq || ev.Name != "e" || ev.TenantID != tenant || ev.CorrelationID != fmt.Sprintf("job-%d", seq) ||
				ev.Context["jobId"] != ev.CorrelationID || ev.Traceparent == "" || ev.Timestamp != fmt.Sprintf("2026-01-02T03:04:05.%03dZ", seq) {
				t.Fatalf("instance %d: event %d: %s", i+1, seq, line)
			}
		}
	}
	// The HTTP ingest of one instance publishes to the exchange: both instances deliver it.
	ingest := `{"namespace":"cl","name":"e","timestamp":"2026-01-02T03:04:06Z","correlationId":"via-ingest","payload":{"seq":1000}}`
	if st, body := productHTTP(t, "POST", "http://"+addrs[1]+"/event/v1/events", token, ingest); st != 200 || !strings.Contains(string(body), `"amqp-`) {
		t.Fatalf("POST /event/v1/events: %d %s", st, body)
	}
	for i, s := range sse {
		line := s.nextLine(t, 30*time.Second)
		for !strings.HasPrefix(line, "data:") {
			line = s.nextLine(t, 30*time.Second)
		}
		if !strings.Contains(line, `"correlationId":"via-ingest"`) || !strings.Contains(line, `"payload":{"seq":1000}`) {
			t.Fatalf("instance %d: ingested event: %s", i+1, line)
		}
	}
	if !sioLines.Scan() || !strings.HasPrefix(sioLines.Text(), "RESULT ") {
		t.Fatalf("amqp-sio.mjs: %q", sioLines.Text())
	}
	var sioGot map[string][]map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(sioLines.Text(), "RESULT ")), &sioGot); err != nil {
		t.Fatal(err)
	}
	for u, items := range sioGot {
		if len(items) != n/2 {
			t.Fatalf("%s: %d Socket.IO items, want %d (even seqs only): %v", u, len(items), n/2, items)
		}
		for k, it := range items {
			seq := 2 * (k + 1)
			want := map[string]any{"tenantId": tenant, "namespace": "cl", "name": "e", "seq": float64(seq), "corr": fmt.Sprintf("job-%d", seq),
				"correlationId": fmt.Sprintf("job-%d", seq), "context": map[string]any{"attempt": float64(1), "jobId": fmt.Sprintf("job-%d", seq), "parity": "even"},
				"trace": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "at": fmt.Sprintf("2026-01-02T03:04:05.%03dZ", seq)}
			if fmt.Sprint(it) != fmt.Sprint(want) {
				t.Fatalf("%s: item %d = %v, want %v", u, k, it, want)
			}
		}
	}
	waitfor.True(t, 30*time.Second, "one webhook per event", func() bool {
		all, ok := rx.ids()
		return len(all) == n+1 && len(ok) == n+1 // the ingested event too
	})
	seen := map[int]int{}
	for _, q := range rx.snapshot() {
		var b struct{ Payload struct{ Seq int } }
		_ = json.Unmarshal([]byte(q.Body), &b)
		seen[b.Payload.Seq]++
	}
	for _, seq := range append(seqs(n), 1000) {
		if seen[seq] != 1 {
			t.Errorf("event %d: %d webhook requests, want 1", seq, seen[seq])
		}
	}
}

// copyDir copies the files of src into dst (one level, as the data dir is), except this
// instance's RabbitMQ queue id.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "amqp-instance-id" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAMQPClusterNoStickySessions: three RabbitMQ-mode instances with --cluster-listen behind a
// round-robin proxy (no affinity), the instance directory on the broker (engine/amqp/instancedir):
// socket.io-client with default transports (polling, then the upgrade), polling-only clients and
// SSE clients each get every event exactly once, in order, polling requests and upgrades being
// forwarded to the instance owning the session.
func TestAMQPClusterNoStickySessions(t *testing.T) {
	dir, node := nodeClients(t)
	broker := startRabbit(t)
	bin := pushgateBinary(t)
	tmp := t.TempDir()
	const n = 3
	addrs, internal := instanceAddrs(t, n)
	var dirs []string
	for i := range n {
		dirs = append(dirs, filepath.Join(tmp, fmt.Sprintf("i%d", i+1)))
	}
	lb := startRoundRobin(t, addrs)
	public := "http://" + lb.addr()
	t.Setenv("PUSHGATE_CLUSTER_SECRET", "test-secret-0123456789abcdef")
	cl := &testCluster{addrs: addrs, dataDirs: dirs, procs: make([]*proc, n)}
	start := func(i int) {
		p := startLogged(t, exec.Command(bin, "serve", "--listen", addrs[i], "--data-dir", dirs[i], "--public-url", public,
			"--amqp-url", broker.URL, "--cluster-listen", internal[i], "--cluster-heartbeat", "1s",
			"--log-level", "warn", "--drain-timeout", "200ms", "--ping-interval", "2s", "--ping-timeout", "2s"), fmt.Sprintf("pushgate%d", i+1))
		cl.procs[i] = p
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
		waitReady(t, p, addrs[i])
	}
	// Instance 1 is configured and stopped; its data dir is copied, so the three share the
	// tenant, the stream and the development signing key.
	start(0)
	token := productRun(t, bin, "token", "--data-dir", dirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	patch := `{"operation":"UPDATE","update":{"cl":{"id":"cl","name":"Cluster","subscriberRoles":[],"events":[{"namespace":"cl","name":"e"}]}}}`
	if st, body := productHTTP(t, "PATCH", "http://"+addrs[0]+"/configuration/v2/configuration/platform/push-service", token, patch); st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	_ = cl.procs[0].cmd.Process.Signal(os.Interrupt)
	<-cl.procs[0].done
	for i := 1; i < n; i++ {
		copyDir(t, dirs[0], dirs[i])
	}
	for i := range n {
		start(i)
	}
	waitfor.True(t, 20*time.Second, "every instance sees the three", func() bool {
		for i := range n {
			if cl.metrics(t, i)["pushgate_cluster_instances"] != n {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, "cluster-clients.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+public, "PUSHGATE_TOKEN="+token, "STREAM=cl",
		"N_DEFAULT=90", "N_POLLING=30", "N_SSE=30", "EVENTS1=5", "KILL=0")
	run.WaitDelay = 5 * time.Second
	t.Logf("clients: %s", runClients(t, run, func() { t.Fatal("no kill phase expected") }))
	var forwarded, moved, proxied float64
	for i := range n {
		m := cl.metrics(t, i)
		forwarded += m["pushgate_cluster_forwarded_total"]
		moved += m["pushgate_cluster_migrated_in_total"]
		proxied += m["pushgate_cluster_proxied_total"]
	}
	if forwarded == 0 || moved == 0 || proxied != 0 {
		t.Fatalf("forwarded polling requests %v, sessions moved on upgrade %v, relayed upgrades %v: want the first two > 0 (no sticky sessions) and none relayed", forwarded, moved, proxied)
	}
}

func seqs(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// TestAMQPWorkers: `serve --workers 2 --amqp-url`: the parent consumes the instance's queue and
// the workers' subscribers get the events amqplib published.
func TestAMQPWorkers(t *testing.T) {
	dir, node := nodeClients(t)
	broker := startRabbit(t)
	bin := pushgateBinary(t)
	data := filepath.Join(t.TempDir(), "d") // short: Unix socket paths live under it
	addr := freeAddr(t)
	srv := startLogged(t, exec.Command(bin, "serve", "--workers", "2", "--listen", addr, "--data-dir", data,
		"--amqp-url", broker.URL, "--log-level", "warn", "--drain-timeout", "200ms"), "server")
	t.Cleanup(func() { _ = srv.cmd.Process.Kill(); <-srv.done })
	waitReady(t, srv, addr)
	url := "http://" + addr
	token := productRun(t, bin, "token", "--data-dir", data, "--tenant", "demo", "--roles", quickStartRoles)
	patch := `{"operation":"UPDATE","update":{"cl":{"id":"cl","name":"Cluster","subscriberRoles":[],"events":[{"namespace":"cl","name":"e"}]}}}`
	if st, body := productHTTP(t, "PATCH", url+"/configuration/v2/configuration/platform/push-service", token, patch); st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	productWaitStreamListed(t, url, token, "demo", "cl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sse []*productSSE
	for range 4 { // spread over the workers by SO_REUSEPORT
		s := productOpenSSE(t, ctx, url+"/stream/v1/streams/cl", token)
		t.Cleanup(s.close)
		sse = append(sse, s)
	}
	cmd := exec.Command(node, "amqp-publish.mjs", broker.URL, productTenantURN(t, url, token, "demo"), "5", "cl", "e", "1")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("amqp-publish.mjs: %v\n%s", err, out)
	}
	for i, s := range sse {
		for seq := 1; seq <= 5; seq++ {
			line := s.nextLine(t, 30*time.Second)
			for !strings.HasPrefix(line, "data:") {
				line = s.nextLine(t, 30*time.Second)
			}
			if !strings.Contains(line, fmt.Sprintf(`"payload":{"seq":%d,`, seq)) {
				t.Fatalf("client %d, event %d: %s", i, seq, line)
			}
		}
	}
}
