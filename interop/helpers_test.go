package interop

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
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
