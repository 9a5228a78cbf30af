package rabbittest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// ServerPath is Debian's broker start script.
const ServerPath = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// startTimeout bounds a start (≈5 s on an idle machine, more on a loaded one).
const startTimeout = 90 * time.Second

// Broker is a running rabbitmq-server.
type Broker struct {
	// URL is amqp://guest:guest@127.0.0.1:<port>/ (the default vhost).
	URL  string
	Port int
	// TLSURL is amqps://guest:guest@localhost:<tls port>/, its server certificate signed by the
	// throw-away CA in CAFile.
	TLSURL, CAFile string

	dir  string
	env  []string
	cmd  *exec.Cmd
	done chan error
}

// Start starts a broker in a new temporary directory and waits until it accepts AMQP.
func Start() (*Broker, error) {
	if _, err := os.Stat(ServerPath); err != nil {
		return nil, fmt.Errorf("rabbittest: %s missing (run `make rabbitmq-deps`): %w", ServerPath, err)
	}
	dir, err := os.MkdirTemp("", "pushgate-rabbit-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dist, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := writeCerts(dir); err != nil {
		return nil, fmt.Errorf("rabbittest: certificates: %w", err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	for _, d := range []string{"home", "mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "rabbitmq.conf")
	confText := fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\nloopback_users = none\ndisk_free_limit.absolute = 1MB\n", port) +
		fmt.Sprintf("listeners.ssl.default = 127.0.0.1:%d\nssl_options.cacertfile = %s\nssl_options.certfile = %s\nssl_options.keyfile = %s\nssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n",
			tlsPort, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err := os.WriteFile(conf, []byte(confText), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o600); err != nil {
		return nil, err
	}
	b := &Broker{
		URL: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port), Port: port, dir: dir,
		TLSURL: fmt.Sprintf("amqps://guest:guest@localhost:%d/", tlsPort), CAFile: filepath.Join(dir, "ca.pem"),
		env: append(os.Environ(),
			"HOME="+filepath.Join(dir, "home"), // the Erlang cookie
			"RABBITMQ_NODENAME=pgtest"+hex.EncodeToString(rnd[:])+"@localhost",
			"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
			"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
			"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
			"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
			"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
			"RABBITMQ_CONFIG_FILE="+conf,
			"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(dir, "advanced.config"),
			"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
			"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
			// Two schedulers: the machine is shared, and a test broker needs little.
			"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=+S 2:2 +sbwt none +sbwtdcpu none +sbwtdio none",
		),
	}
	if err := b.start(); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

func (b *Broker) start() error {
	cmd := exec.Command(ServerPath)
	cmd.Env = b.env
	cmd.Dir = b.dir
	out, err := os.OpenFile(filepath.Join(b.dir, "server.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("rabbittest: start: %w", err)
	}
	b.cmd, b.done = cmd, make(chan error, 1)
	go func() { b.done <- cmd.Wait(); out.Close() }()
	var exited error
	notUp := waitfor.Condition(startTimeout, func() error {
		select {
		case err := <-b.done:
			b.cmd = nil
			exited = fmt.Errorf("rabbittest: broker exited: %v; %s", err, b.tail())
			return nil // stop waiting: it will never come up
		default:
		}
		p, err := rabbit.NewPublisher(rabbit.Config{URL: b.URL})
		if err != nil {
			return err
		}
		_ = p.Close()
		return nil
	})
	if exited != nil {
		return exited
	}
	if notUp != nil {
		return fmt.Errorf("rabbittest: broker not up: %w; %s", notUp, b.tail())
	}
	return nil
}

func (b *Broker) tail() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "server.out"))
	s := string(out)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

// kill stops the running node: SIGTERM (a clean shutdown), then SIGKILL to its process group.
func (b *Broker) kill() {
	if b.cmd == nil {
		return
	}
	pgid := b.cmd.Process.Pid
	if raw, err := os.ReadFile(filepath.Join(b.dir, "pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-b.done
	}
	b.cmd = nil
}

// Restart stops the node and starts it again on the same port with the same data: durable
// queues and their persistent (and quorum-queue) messages survive.
func (b *Broker) Restart() error {
	b.kill()
	_ = os.Remove(filepath.Join(b.dir, "pid"))
	return b.start()
}

// StopNode stops the node and leaves it down (StartNode brings it back).
func (b *Broker) StopNode() { b.kill(); _ = os.Remove(filepath.Join(b.dir, "pid")) }

// StartNode starts a node stopped by StopNode.
func (b *Broker) StartNode() error { return b.start() }

// CloseConnections makes the broker close every client connection (rabbitmqctl
// close_all_connections): a broker blip without a restart.
func (b *Broker) CloseConnections() error {
	cmd := exec.Command(filepath.Join(filepath.Dir(ServerPath), "rabbitmqctl"), "close_all_connections", "test blip")
	cmd.Env = b.env
	cmd.Dir = b.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rabbittest: close_all_connections: %v: %s", err, out)
	}
	return nil
}

// Stop stops the broker and removes its files.
func (b *Broker) Stop() {
	b.kill()
	_ = os.RemoveAll(b.dir)
}

// Main runs the package's tests with a broker in *b, stopped after; use it as TestMain.
func Main(m *testing.M, b **Broker) {
	br, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*b = br
	code := m.Run()
	br.Stop()
	os.Exit(code)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
