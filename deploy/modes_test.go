package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// The deploy kit (alerts, dashboard, probes) is used in every way pushgate runs, so its check runs
// against each: one process (TestDashboardAndRulesMetricsExist), `--workers 2` and Kafka
// instances behind a balancer — the real binary, as an operator starts it.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pushgateBinary builds cmd/pushgate once per test run.
func pushgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "pushgate-deploy-modes"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pushgate")
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, "../cmd/pushgate").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// lockedBuffer collects a process's logs for failure reports.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `pushgate serve args…`, killed at the end of the test.
func startServe(t *testing.T, logs *lockedBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(pushgateBinary(t), append([]string{"serve"}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

func newKfake(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, client.DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

func TestDeployKitInEveryMode(t *testing.T) {
	t.Run("workers", func(t *testing.T) {
		var logs lockedBuffer
		addr, data := freeAddr(t), t.TempDir()
		startServe(t, &logs, "--workers", "2", "--listen", addr, "--data-dir", data, "--kafka-brokers", newKfake(t),
			"--drain-timeout", "20s")
		checkDeployKit(t, "http://"+addr, false, &logs)
		// Every worker reports its own readiness (the series carry worker="0", "1", "parent"); a
		// worker's series reaches the parent with its next metrics report, after /readyz may
		// already answer for the parent.
		var body string
		ready := func() bool {
			_, body = httpGet(t, "http://"+addr+"/metrics")
			for _, w := range []string{"parent", "0", "1"} {
				if !strings.Contains(body, `pushgate_ready{worker="`+w+`"} 1`) {
					return false
				}
			}
			return true
		}
		if waitfor.Bool(10*time.Second, ready) != nil {
			t.Errorf("not every worker reports pushgate_ready 1:\n%s", grepLines(body, "pushgate_ready"))
		}
		t.Run("worker drain", func(t *testing.T) { testWorkerDrain(t, data, &logs) })
	})
	t.Run("kafka instances", func(t *testing.T) {
		brokers := newKfake(t)
		var addrs []string
		var logs lockedBuffer
		for i := 0; i < 2; i++ {
			addr := freeAddr(t)
			addrs = append(addrs, addr)
			startServe(t, &logs, "--listen", addr, "--data-dir", t.TempDir(), "--kafka-brokers", brokers,
				"--cluster-listen", freeAddr(t), "--cluster-secret", "0123456789abcdef0123", "--instance-id", "i"+strconv.Itoa(i))
		}
		for _, addr := range addrs {
			checkDeployKit(t, "http://"+addr, true, &logs)
		}
	})
}

// testWorkerDrain: a worker told to stop (SIGTERM) answers /readyz 503 and exports
// pushgate_ready 0 while it drains its clients, as one process does.
func testWorkerDrain(t *testing.T, data string, logs *lockedBuffer) {
	run := cluster.RunDir(data)
	viaWorker := func(path string) (int, string) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", cluster.WorkerSocket(run, 0))
			}}}
		resp, err := c.Get("http://worker" + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A client on worker 0 keeps its drain going for the window (clients are closed spread over it).
	openClient(t, run)
	if code, body := viaWorker("/readyz"); code != 200 {
		t.Fatalf("worker 0 /readyz before the drain: %d %s", code, body)
	}
	pid := readPID(t, cluster.PIDFile(run, 0))
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitfor.Check(t, 10*time.Second, func() error {
		code, body := viaWorker("/readyz")
		if code != 503 || !strings.Contains(body, "draining") {
			return fmt.Errorf("worker 0 /readyz while draining: %d %s", code, body)
		}
		return nil
	})
	_, body := viaWorker("/metrics")
	if !strings.Contains(body, "\npushgate_ready 0\n") {
		t.Errorf("worker 0 while draining: want pushgate_ready 0, got:\n%s", grepLines(body, "pushgate_ready"))
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

// openClient opens a Socket.IO polling session on worker 0 (through its socket) that stays open.
func openClient(t *testing.T, run string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", cluster.WorkerSocket(run, 0))
		}}}
	resp, err := c.Get("http://worker/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"sid"`) {
		t.Fatalf("open session: %d %s", resp.StatusCode, b)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitfor.Check(t, 5*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func grepLines(body, word string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
