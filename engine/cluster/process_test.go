package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// syncBuffer collects the processes' logs for failure reports.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type procEnv struct {
	t     *testing.T
	bin   string
	data  string
	run   string
	base  string
	token string
	http  *http.Client
}

// unixGet sends one raw request to a worker socket and returns status and body.
func (e *procEnv) unix(worker int, method, target, body string, hdr map[string]string) (int, string) {
	e.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", WorkerSocket(e.run, worker))
		}}}
	return e.do(c, method, "http://worker"+target, body, hdr)
}

func (e *procEnv) do(c *http.Client, method, u, body string, hdr map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *procEnv) metric(worker int, name string) (float64, error) {
	st, body := e.unix(worker, "GET", "/metrics", "", nil)
	if st != 200 {
		return 0, fmt.Errorf("worker %d metrics: %d %s", worker, st, body)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("worker %d has no %s", worker, name)
}

func (e *procEnv) pid(worker int) int {
	b, err := os.ReadFile(PIDFile(e.run, worker))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// openSSE reads SSE ids into a channel. A 404 is retried: the worker may not have received the
// snapshot with the new stream yet.
func openSSE(t *testing.T, c *http.Client, u, token string) (chan string, func()) {
	t.Helper()
	var resp *http.Response
	waitfor.Check(t, 5*time.Second, func() error {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := c.Do(req)
		if err != nil {
			return err
		}
		if r.StatusCode != 200 {
			b, _ := io.ReadAll(r.Body)
			_ = r.Body.Close()
			return fmt.Errorf("SSE %s: %d %s", u, r.StatusCode, b)
		}
		resp = r
		return nil
	})
	ids := make(chan string, 1000)
	go func() {
		defer close(ids)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids <- id
			}
		}
	}()
	return ids, func() { _ = resp.Body.Close() }
}

// buildPushgate builds the binary into dir.
func buildPushgate(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pushgate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pushgate/pushgate/cmd/pushgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestProcesses runs a parent and two workers as real processes on one port.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	e := &procEnv{t: t, bin: buildPushgate(t, dir), data: filepath.Join(dir, "d"), http: &http.Client{Timeout: 10 * time.Second}}
	e.run = RunDir(e.data)
	addr := freeAddr(t)
	e.base = "http://" + addr
	var logs syncBuffer
	parent := exec.Command(e.bin, "serve", "--workers", "2", "--listen", addr, "--data-dir", e.data,
		"--drain-timeout", "300ms", "--ping-interval", "1s", "--ping-timeout", "2s")
	parent.Stdout, parent.Stderr = &logs, &logs
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- parent.Wait() }()
	t.Cleanup(func() {
		_ = parent.Process.Signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("process logs:\n%s", logs.String())
		}
	})
	waitfor.Check(t, 20*time.Second, func() error {
		for i := 0; i < 2; i++ {
			if _, err := e.metric(i, "pushgate_sse_streams"); err != nil {
				return err
			}
		}
		return nil
	})
	tok, err := exec.Command(e.bin, "token", "--data-dir", e.data, "--tenant", "demo", "--roles",
		"stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin").Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	e.token = strings.TrimSpace(string(tok))

	// Configuration through the port (proxied to the parent), then visible on both workers.
	st, body := e.do(e.http, "PATCH", e.base+"/configuration/v2/configuration/platform/push-service", `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}}}`, nil)
	if st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	t.Run("sse", func(t *testing.T) { e.testSSE(t) })
	t.Run("polling", func(t *testing.T) { e.testPolling(t) })
	t.Run("upgrade", func(t *testing.T) { e.testUpgrade(t) })
	t.Run("restart", func(t *testing.T) { e.testRestart(t) })
	t.Run("operator", func(t *testing.T) { e.testOperator(t) })

	// SIGTERM: workers drain and exit 0, then the parent exits 0.
	pids := []int{e.pid(0), e.pid(1)}
	if err := parent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("parent exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("parent did not exit")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("worker pid %d still running", pid)
		}
	}
	if !strings.Contains(logs.String(), `msg="worker stopped" role=parent worker=0`) ||
		!strings.Contains(logs.String(), `msg="worker stopped" role=parent worker=1`) {
		t.Error("workers did not report a clean stop")
	}
}

// 40 SSE streams spread over both workers each receive every event once, in order.
func (e *procEnv) testSSE(t *testing.T) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var streams []chan string
	for i := 0; i < 40; i++ {
		ids, stop := openSSE(t, c, e.base+"/stream/v1/streams/orders", e.token)
		defer stop()
		streams = append(streams, ids)
	}
	waitfor.Check(t, 5*time.Second, func() error {
		a, err := e.metric(0, "pushgate_sse_streams")
		if err != nil {
			return err
		}
		b, err := e.metric(1, "pushgate_sse_streams")
		if err != nil {
			return err
		}
		if a+b != 40 || a == 0 || b == 0 {
			return fmt.Errorf("streams per worker: %v + %v", a, b)
		}
		t.Logf("SSE streams per worker: %v, %v", a, b)
		return nil
	})
	var want []string
	for n := 0; n < 20; n++ {
		st, body := e.do(e.http, "POST", e.base+"/event/v1/events", fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"n":%d}}`, n), nil)
		if st != 200 {
			t.Fatalf("POST event: %d %s", st, body)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(body, `{"id":"`), `"}`)
		want = append(want, id)
	}
	for i, ids := range streams {
		for k, w := range want {
			select {
			case got := <-ids:
				if got != w {
					t.Fatalf("stream %d event %d: id %s, want %s", i, k, got, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("stream %d: event %d (%s) missing", i, k, w)
			}
		}
		select {
		case extra := <-ids:
			t.Fatalf("stream %d: unexpected extra event %s", i, extra)
		default:
		}
	}
}

// A polling session created on worker 0 keeps working when its requests reach worker 1.
func (e *procEnv) testPolling(t *testing.T) {
	q := "/socket.io/?EIO=4&transport=polling&stream=orders"
	st, body := e.unix(0, "GET", q, "", nil)
	if st != 200 || !strings.HasPrefix(body, `0{"sid":"w0.`) {
		t.Fatalf("handshake on worker 0: %d %s", st, body)
	}
	sid := strings.SplitN(strings.TrimPrefix(body, `0{"sid":"`), `"`, 2)[0]
	sq := "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
	// Namespace CONNECT sent to worker 1, answered through worker 1.
	if st, body := e.unix(1, "POST", sq, `40/demo,{"token":"`+e.token+`"}`, map[string]string{"Content-Type": "text/plain"}); st != 200 || body != "ok" {
		t.Fatalf("POST via worker 1: %d %s", st, body)
	}
	if st, body := e.unix(1, "GET", sq, "", nil); st != 200 || !strings.HasPrefix(body, "40/demo,") {
		t.Fatalf("GET via worker 1: %d %s", st, body)
	}
	st, body = e.do(e.http, "POST", e.base+"/event/v1/events", `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"polled":true}}`, nil)
	if st != 200 {
		t.Fatalf("POST event: %d %s", st, body)
	}
	// Alternately through the port (a new connection each time: either worker) and through
	// worker 1: the event arrives once.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var got string
	for k := 0; k < 6 && !strings.Contains(got, `"polled":true`); k++ {
		var st int
		var b string
		if k%2 == 0 {
			st, b = e.do(fresh, "GET", e.base+sq, "", nil)
		} else {
			st, b = e.unix(1, "GET", sq, "", nil)
		}
		if st != 200 {
			t.Fatalf("GET %d: %d %s", k, st, b)
		}
		got += b
	}
	if !strings.Contains(got, `42/demo,["shop:order-placed",`) || strings.Count(got, `"polled":true`) != 1 {
		t.Fatalf("polled payloads %q, want the event once", got)
	}
	// An unknown worker index is an unknown session.
	if st, _ := e.unix(1, "GET", "/socket.io/?EIO=4&transport=polling&sid=w7.nope", "", nil); st != 400 {
		t.Errorf("foreign unknown sid: %d, want 400", st)
	}
}

// A worker that dies is restarted by the parent and serves again, with the parent's retained
// events in its replay history: an SSE client resuming on it from an id published before the
// restart gets the events after that id, not a reset.
func (e *procEnv) testRestart(t *testing.T) {
	var ids []string
	for n := 0; n < 3; n++ {
		st, body := e.do(e.http, "POST", e.base+"/event/v1/events", fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"before-restart":%d}}`, n), nil)
		if st != 200 {
			t.Fatalf("POST event: %d %s", st, body)
		}
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(body, `{"id":"`), `"}`))
	}
	old := e.pid(1)
	if old == 0 {
		t.Fatal("no pid file for worker 1")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitfor.Check(t, 15*time.Second, func() error {
		if p := e.pid(1); p == old || p == 0 {
			return errors.New("worker 1 not restarted yet")
		}
		if _, err := e.metric(1, "pushgate_sse_streams"); err != nil {
			return err
		}
		if st, b := e.unix(1, "GET", "/readyz", "", nil); st != 200 {
			return fmt.Errorf("worker 1 readyz: %d %s", st, b)
		}
		return nil
	})
	if got := e.resumeSSE(t, 1, ids[0], 2); fmt.Sprint(got) != fmt.Sprint(ids[1:]) {
		t.Fatalf("SSE resumed on the restarted worker from %s: %v, want %v", ids[0], got, ids[1:])
	}
}

// resumeSSE opens the orders stream on a worker's socket with Last-Event-ID: from and returns
// the first n ids it replays ("reset" for a history gap).
func (e *procEnv) resumeSSE(t *testing.T, worker int, from string, n int) []string {
	t.Helper()
	c, err := net.Dial("unix", WorkerSocket(e.run, worker))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /stream/v1/streams/orders HTTP/1.1\r\nHost: w\r\nAuthorization: Bearer %s\r\nLast-Event-ID: %s\r\n\r\n", e.token, from)
	var got []string
	sc := bufio.NewScanner(c)
	for len(got) < n && sc.Scan() {
		switch line := sc.Text(); {
		case line == "event: reset":
			got = append(got, "reset")
		case strings.HasPrefix(line, "id: "):
			got = append(got, strings.TrimPrefix(line, "id: "))
		}
	}
	return got
}
