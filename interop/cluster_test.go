package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestClusterNoStickySessions is the many-instances scenario of README "Many instances": a fresh
// kfake broker, three `pushgate serve` processes in Kafka mode with --cluster-listen, and a
// round-robin TCP proxy in front (each new connection to the next live instance, no affinity).
// cluster-clients.mjs connects 300 socket.io-client clients with default transports, 50
// polling-only and 50 SSE through the proxy; every event reaches every client exactly once; then
// one instance is killed with SIGKILL and its clients reconnect through the proxy and recover the
// events they missed on the other instances.
//
// The broker starts with only the events topic (3 partitions), as an operator creates it:
// pushgate creates its own compacted config topic (engine/kafka/client topics.go, called by engine/kafka/configsync), the three
// instances racing to do so at start.
func TestClusterNoStickySessions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three server processes and 400 Node clients")
	}
	dir, node := nodeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	broker := startKafka(t, kfake.SeedTopics(3, "domain-events"))

	tmp := t.TempDir()
	bin := pushgateBinary(t)

	const n = 3
	addrs, internal := instanceAddrs(t, n)
	lb := startRoundRobin(t, addrs)
	public := "http://" + lb.addr()
	cl := startCluster(t, bin, tmp, strings.Join(broker.ListenAddrs(), ","), public, addrs, internal)

	token := productRun(t, bin, "token", "--data-dir", cl.dataDirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	cl.configure(t, token)

	// An unsigned or tampered request on an internal listener never reaches a session.
	checkInternalAuth(t, internal[0])

	run := exec.CommandContext(ctx, node, "cluster-clients.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+public, "PUSHGATE_TOKEN="+token, "STREAM=cl",
		"N_DEFAULT=300", "N_POLLING=50", "N_SSE=50", "EVENTS1=5", "EVENTS2=5")
	run.WaitDelay = 5 * time.Second
	// A session of instance 3, polled through instance 1: forwarded while 3 lives.
	sid3 := handshakeSID(t, cl.addrs[2])
	if code, body := pollOnce(t, cl.addrs[0], sid3); code != 200 {
		t.Fatalf("poll of instance 3's session through instance 1: %d %s", code, body)
	}
	// An owner nobody knows: Engine.IO's ordinary answer, so socket.io-client starts over.
	expectSessionUnknown(t, cl.addrs[0], "nosuchinstance.abcdefghijklmnopqrst")
	before := cl.metrics(t, 2) // the instance to be killed: its counters die with it
	result := runClients(t, run, func() {
		_ = cl.procs[2].cmd.Process.Kill() // SIGKILL: no drain, no tombstone
		<-cl.procs[2].done
		t.Logf("killed instance 3 (%s)", addrs[2])
	})
	t.Logf("clients: %s", result)
	// The dead owner's session: "Session ID unknown" at once (its address refuses connections),
	// before the directory has dropped it.
	expectSessionUnknown(t, cl.addrs[0], sid3)

	// Every instance took part in forwarding: polling requests relayed to their owner, sessions
	// moved to the instance their WebSocket upgrade landed on (none relayed), and every instance
	// served requests forwarded to it.
	total := func(name string, ms ...map[string]float64) (s float64) {
		for _, m := range ms {
			s += m[name]
		}
		return s
	}
	after := []map[string]float64{cl.metrics(t, 0), cl.metrics(t, 1), before}
	for _, name := range []string{"pushgate_cluster_forwarded_total", "pushgate_cluster_migrated_in_total", "pushgate_cluster_migrated_out_total", "pushgate_cluster_served_total"} {
		if v := total(name, after...); v <= 0 {
			t.Errorf("%s = %v over the instances, want > 0", name, v)
		}
	}
	// The killed instance leaves the directories after 3 missed heartbeats (1s each here).
	left := 0 // instances that saw it leave (each is checked until it does, then no more)
	waitfor.Check(t, 15*time.Second, func() error {
		for ; left < 2; left++ {
			if n := cl.metrics(t, left)["pushgate_cluster_instances"]; n != 2 {
				return fmt.Errorf("instance %d still counts %v live instances", left+1, n)
			}
		}
		return nil
	})
	if v := total("pushgate_cluster_proxied_total", after...); v != 0 {
		t.Errorf("pushgate_cluster_proxied_total = %v: an upgrade was relayed instead of moving its session", v)
	}
	t.Logf("forwarded polling requests %v, sessions moved on upgrade %v, served %v, failed %v, auth rejected %v",
		total("pushgate_cluster_forwarded_total", after...), total("pushgate_cluster_migrated_in_total", after...),
		total("pushgate_cluster_served_total", after...), total("pushgate_cluster_forward_failures_total", after...),
		total("pushgate_cluster_auth_rejected_total", after...))
}

// runClients runs the Node clients, calls kill when they print KILL and then tells them to go
// on; it returns their RESULT line and fails the test when they fail.
func runClients(t *testing.T, cmd *exec.Cmd, kill func()) string {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	var result string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		logLine(t, "node", line)
		switch {
		case line == "KILL":
			kill()
			_, _ = io.WriteString(stdin, "go on\n")
		case strings.HasPrefix(line, "RESULT "):
			result = strings.TrimPrefix(line, "RESULT ")
		}
	}
	if err := cmd.Wait(); err != nil || result == "" {
		t.Fatalf("cluster-clients.mjs: %v (no RESULT line: see the node| log above)", err)
	}
	return result
}

type testCluster struct {
	addrs, dataDirs []string
	procs           []*proc
	args            func(i int) []string // pushgate's arguments for instance i
}

// startCluster starts the instances on one development signing key (--dev-signing-key: a token
// minted against one works on all, as they share --public-url and so the issuer), then waits
// until every instance sees all the others. extra are more flags for every instance.
func startCluster(t *testing.T, bin, tmp, brokers, public string, addrs, internal []string, extra ...string) *testCluster {
	t.Helper()
	cl := &testCluster{addrs: addrs, procs: make([]*proc, len(addrs))}
	for i := range addrs {
		cl.dataDirs = append(cl.dataDirs, filepath.Join(tmp, fmt.Sprintf("i%d", i+1)))
	}
	devKey := filepath.Join(tmp, "dev-signing-key.pem")
	cl.args = func(i int) []string {
		return append([]string{"serve", "--listen", addrs[i], "--data-dir", cl.dataDirs[i],
			"--public-url", public, "--kafka-brokers", brokers, "--cluster-listen", internal[i],
			"--dev-signing-key", devKey,
			"--log-level", "warn", "--drain-timeout", "200ms",
			"--ping-interval", "2s", "--ping-timeout", "2s", "--cluster-heartbeat", "1s"}, extra...)
	}
	t.Setenv("PUSHGATE_CLUSTER_SECRET", "test-secret-0123456789abcdef")
	for i := range addrs { // started together: the first to create the key file wins, the others read it
		cl.start(t, bin, i)
	}
	for i := range addrs {
		waitReady(t, cl.procs[i], addrs[i])
	}
	seeing := 0 // instances that see all the others (each is checked until it does, then no more)
	waitfor.Check(t, 20*time.Second, func() error {
		for ; seeing < len(addrs); seeing++ {
			if n := cl.metrics(t, seeing)["pushgate_cluster_instances"]; n != float64(len(addrs)) {
				return fmt.Errorf("instance %d does not see %d instances: %v", seeing+1, len(addrs), n)
			}
		}
		return nil
	})
	return cl
}

func waitReady(t *testing.T, p *proc, addr string) {
	t.Helper()
	if !productWaitReady(t, &productServer{addr: addr, url: "http://" + addr, proc: p}, 30*time.Second) {
		t.Fatalf("pushgate on %s exited before it was ready: %v", addr, p.err)
	}
}

// start (re)starts instance i on its data directory; it is killed when the test ends.
func (cl *testCluster) start(t *testing.T, bin string, i int) {
	t.Helper()
	p := startLogged(t, exec.Command(bin, cl.args(i)...), fmt.Sprintf("pushgate%d", i+1))
	cl.procs[i] = p
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// configure creates the stream "cl" (through instance 1) and waits until every instance lists
// it for the same demo tenant (the instances' seeded "demo" tenants converge on the topic's).
func (cl *testCluster) configure(t *testing.T, token string) {
	t.Helper()
	patch := `{"operation":"UPDATE","update":{"cl":{"id":"cl","name":"Cluster","subscriberRoles":[],"events":[{"namespace":"cl","name":"e"}]}}}`
	deadline := time.Now().Add(20 * time.Second) // one budget for the PATCH and the convergence
	waitfor.Check(t, time.Until(deadline), func() error {
		if code, body := productHTTP(t, "PATCH", "http://"+cl.addrs[0]+"/configuration/v2/configuration/platform/push-service", token, patch); code != 200 {
			return fmt.Errorf("PATCH: %d %s", code, body)
		}
		return nil
	})
	tenantOf := regexp.MustCompile(`"id":\s*"(urn:[^"]+)"`)
	var want string
	converged := 0 // instances that converged (each is checked until it does, then no more)
	waitfor.Check(t, time.Until(deadline), func() error {
		for ; converged < len(cl.addrs); converged++ {
			a := cl.addrs[converged]
			_, streams := productHTTP(t, "GET", "http://"+a+"/stream/v1/streams?tenant=demo", token, "")
			_, tenants := productHTTP(t, "GET", "http://"+a+"/tenant/v2/tenants", token, "")
			id := ""
			if m := tenantOf.FindSubmatch(tenants); m != nil {
				id = string(m[1])
			}
			if !strings.Contains(string(streams), `"cl"`) || id == "" || (want != "" && id != want) {
				return fmt.Errorf("instance %d: stream cl / demo tenant not converged: %s %s", converged+1, streams, tenants)
			}
			want = id
		}
		return nil
	})
}

var metricLine = regexp.MustCompile(`^(pushgate_[a-z_]+) ([0-9.e+]+)$`)

// metrics returns instance i's unlabelled pushgate_* series.
func (cl *testCluster) metrics(t *testing.T, i int) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	resp, err := http.Get("http://" + cl.addrs[i] + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := metricLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// checkInternalAuth sends requests an attacker could send to an internal listener: without a
// signature, with a forged one and with a signature over other bytes. Each must be refused (403)
// before a session is looked up.
func checkInternalAuth(t *testing.T, addr string) {
	t.Helper()
	reqs := map[string]string{
		"unsigned": "GET /socket.io/?EIO=4&transport=polling&sid=x.abc HTTP/1.1\r\nHost: x\r\n\r\n",
		"forged":   "GET /socket.io/?EIO=4&transport=polling&sid=x.abc HTTP/1.1\r\nX-Pushgate-Cluster-Auth: v1 " + strconv.FormatInt(time.Now().UnixMilli(), 10) + " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nHost: x\r\n\r\n",
	}
	for name, raw := range reqs {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%s request on the internal listener: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 403 {
			t.Errorf("%s request on the internal listener: %d %s, want 403", name, resp.StatusCode, body)
		}
	}
}

// roundRobin is the balancer of the test: every new TCP connection goes to the next backend
// (skipping those that refuse the connection, as a balancer's health check would), and its
// bytes are relayed both ways. No affinity of any kind.
type roundRobin struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	wg       sync.WaitGroup
}

func startRoundRobin(t *testing.T, backends []string) *roundRobin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rr := &roundRobin{ln: ln, backends: backends}
	go rr.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return rr
}

func (rr *roundRobin) addr() string { return rr.ln.Addr().String() }

func (rr *roundRobin) serve() {
	for {
		c, err := rr.ln.Accept()
		if err != nil {
			return
		}
		go rr.relay(c)
	}
}

func (rr *roundRobin) relay(c net.Conn) {
	defer c.Close()
	var up net.Conn
	for range rr.backends {
		b := rr.backends[rr.next.Add(1)%uint64(len(rr.backends))]
		var err error
		if up, err = net.DialTimeout("tcp", b, time.Second); err == nil {
			break
		}
	}
	if up == nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	<-done
}

// handshakeSID opens an Engine.IO polling session directly on addr and returns its sid.
func handshakeSID(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"sid":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("handshake on %s: %d %s", addr, resp.StatusCode, b)
	}
	return string(m[1])
}

// pollOnce sends one polling GET for sid to addr (an idle session's GET is answered by the next
// ping, within the test's 2s ping interval).
func pollOnce(t *testing.T, addr, sid string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/socket.io/?EIO=4&transport=polling&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func expectSessionUnknown(t *testing.T, addr, sid string) {
	t.Helper()
	code, body := pollOnce(t, addr, sid)
	if code != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
		t.Errorf("poll of %s on %s: %d %s, want 400 Session ID unknown", sid, addr, code, body)
	}
}
