//go:build cluster

package interop

// `make run-cluster` (go test -tags cluster): the many-instances scenario behind a real nginx
// (Debian package) in plain round-robin, and the forwarding overhead measured side by side.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/twmb/franz-go/pkg/kfake"
)

// clusterFixture builds the binary and starts a fresh broker and n instances with the public URL
// url(addrs) (tokens are verified against it: configure once it answers).
func clusterFixture(t *testing.T, n int, url func(addrs []string) string) (bin string, cl *testCluster, token, public string) {
	t.Helper()
	broker, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	tmp := t.TempDir()
	bin = pushgateBinary(t)
	var addrs, internal []string
	for i := 0; i < n; i++ {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
		internal = append(internal, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
	}
	public = url(addrs)
	cl = startCluster(t, bin, tmp, strings.Join(broker.ListenAddrs(), ","), public, addrs, internal)
	token = productRun(t, bin, "token", "--data-dir", cl.dataDirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	return bin, cl, token, public
}

// TestClusterNginx: three instances behind nginx (scripts/nginx-cluster.conf), 300 default-
// transport + 50 polling-only socket.io-client clients and 50 SSE clients, one instance killed.
func TestClusterNginx(t *testing.T) {
	dir, _ := os.Getwd()
	nginx := lookTool(t, "nginx")
	node := lookTool(t, "node")
	ensureNodeModules(t, dir)
	lbAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	var backends []string
	_, cl, token, public := clusterFixture(t, 3, func(addrs []string) string {
		backends = addrs
		return "http://" + lbAddr
	})
	ngDir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "scripts", "nginx-cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var up strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&up, "        server %s max_fails=1 fail_timeout=5s;\n", b)
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;" // the workers write nothing, but keep them able to read the temp dirs
	}
	conf := strings.NewReplacer("@DIR@", ngDir, "@LISTEN@", lbAddr, "@UPSTREAMS@", strings.TrimRight(up.String(), "\n"), "@USER@", user).Replace(string(tmpl))
	confPath := filepath.Join(ngDir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ng := startLogged(t, exec.Command(nginx, "-p", ngDir, "-c", confPath), "nginx")
	t.Cleanup(func() {
		_ = ng.cmd.Process.Signal(os.Interrupt)
		select {
		case <-ng.done:
		case <-time.After(5 * time.Second):
			_ = ng.cmd.Process.Kill()
		}
	})
	waitfor.True(t, 10*time.Second, fmt.Sprintf("nginx listening on %s (see %s/error.log)", lbAddr, ngDir), func() bool {
		c, err := net.DialTimeout("tcp", lbAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	cl.configure(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, "cluster-clients.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+public, "PUSHGATE_TOKEN="+token, "STREAM=cl",
		"N_DEFAULT=300", "N_POLLING=50", "N_SSE=50", "EVENTS1=10", "EVENTS2=10")
	run.WaitDelay = 5 * time.Second
	before := cl.metrics(t, 2)
	result := runClients(t, run, func() {
		_ = cl.procs[2].cmd.Process.Kill()
		<-cl.procs[2].done
		t.Logf("killed instance 3 (%s)", backends[2])
	})
	after := []map[string]float64{cl.metrics(t, 0), cl.metrics(t, 1), before}
	sum := func(name string) (s float64) {
		for _, m := range after {
			s += m[name]
		}
		return s
	}
	t.Logf("through nginx: %s", result)
	t.Logf("forwarded polling requests %v, sessions moved on upgrade %v, relayed upgrades %v, served %v, failed %v",
		sum("pushgate_cluster_forwarded_total"), sum("pushgate_cluster_migrated_in_total"), sum("pushgate_cluster_proxied_total"),
		sum("pushgate_cluster_served_total"), sum("pushgate_cluster_forward_failures_total"))
	if sum("pushgate_cluster_forwarded_total") == 0 || sum("pushgate_cluster_migrated_in_total") == 0 {
		t.Error("nothing was forwarded or moved: nginx is not spreading the requests")
	}
	if n := sum("pushgate_cluster_proxied_total"); n != 0 {
		t.Errorf("%v upgrades relayed through a non-owner: a session must move to the instance of its upgrade", n)
	}
}
