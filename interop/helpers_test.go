package interop

import (
	"bufio"
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
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbittest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// lookTool finds an executable on PATH; a missing tool fails the test (CI must run the real client).
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH: the interop tests need Go, Node.js 20+ and npm (%v)", name, err)
	}
	return p
}

func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	_, e1 := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client", "package.json"))
	_, e2 := os.Stat(filepath.Join(dir, "node_modules", "eventsource", "package.json"))
	_, e3 := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json"))
	_, e4 := os.Stat(filepath.Join(dir, "node_modules", "amqplib", "package.json"))
	if e1 == nil && e2 == nil && e3 == nil && e4 == nil {
		return
	}
	npm := lookTool(t, "npm")
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	t.Logf("installing interop/node_modules: npm ci --no-audit --no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeAddr returns a free loopback host:port.
func freeAddr(t *testing.T) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
}

// instanceAddrs returns the public and the internal (--cluster-listen) addresses of n instances.
func instanceAddrs(t *testing.T, n int) (public, internal []string) {
	t.Helper()
	for range n {
		public = append(public, freeAddr(t))
		internal = append(internal, freeAddr(t))
	}
	return public, internal
}

// startKafka starts a kfake broker, stopped when the test ends.
func startKafka(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	broker, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	return broker
}

// startRabbit starts a real rabbitmq-server, stopped when the test ends.
func startRabbit(t *testing.T) *rabbittest.Broker {
	t.Helper()
	broker, err := rabbittest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Stop)
	return broker
}

// serveLoopback serves h on a free loopback port until the test ends; it returns the base URL.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// startWebhookServer starts `pushgate serve` on dataDir with webhook retries every 200ms and a
// 100ms breaker cooldown, on a fresh port each time (so it can be started again on the same data
// directory after a kill), retrying twice if it does not become ready; it is killed when the test
// ends.
func startWebhookServer(t *testing.T, bin, dataDir, logLevel string) *productServer {
	t.Helper()
	sched := "0s" + strings.Repeat(",200ms", 60)
	s := &productServer{bin: bin, dataDir: dataDir}
	for attempt := 0; ; attempt++ {
		s.addr = freeAddr(t)
		s.url = "http://" + s.addr
		cmd := exec.Command(bin, "serve", "--listen", s.addr, "--data-dir", dataDir, "--log-level", logLevel,
			"--webhook-retry-schedule", sched, "--webhook-breaker-cooldown", "100ms")
		s.proc = startLogged(t, cmd, "server")
		if productWaitReady(t, s, 30*time.Second) {
			break
		}
		if attempt == 2 {
			t.Fatalf("server did not become ready: %v", s.proc.err)
		}
	}
	t.Cleanup(func() { _ = s.proc.cmd.Process.Kill(); <-s.proc.done })
	return s
}

// proc is a started process; done is closed once it has exited and its output is drained, then err
// holds the result of cmd.Wait.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startLogged starts cmd with stdout and stderr streamed line by line to t.Log.
func startLogged(t *testing.T, cmd *exec.Cmd, prefix string) *proc {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			logLine(t, prefix, sc.Text())
		}
		io.Copy(io.Discard, pr) // keep draining after an over-long line
	}()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		wg.Wait()
		close(p.done)
	}()
	return p
}

// logLine logs unless the test has already finished (t.Log panics after completion).
var logMu sync.Mutex

func logLine(t *testing.T, prefix, line string) {
	logMu.Lock()
	defer logMu.Unlock()
	defer func() { _ = recover() }()
	t.Logf("%s| %s", prefix, line)
}

// nodeClients returns the interop directory (go test runs there) and the node binary, with the
// pinned npm clients installed.
func nodeClients(t *testing.T) (dir, node string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	node = lookTool(t, "node")
	ensureNodeModules(t, dir)
	return dir, node
}

// The pushgate binary, built once for the whole test run (each test used to build its own).
var pushgateBuild struct {
	once     sync.Once
	dir, bin string
	err      error
}

// pushgateBinary returns the path of ./cmd/pushgate built from this tree, building it on first use.
func pushgateBinary(t *testing.T) string {
	t.Helper()
	b := &pushgateBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "pushgate-interop-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "pushgate")
		cmd := exec.Command(lookTool(t, "go"), "build", "-o", b.bin, "./cmd/pushgate")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/pushgate: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pushgateBuild.dir != "" {
		_ = os.RemoveAll(pushgateBuild.dir)
	}
	os.Exit(code)
}
