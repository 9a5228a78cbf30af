package interop

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestClusterBlastRadius: killing one of three instances disconnects only the clients whose
// socket it held. Three Kafka-mode instances on kfake behind the test's round-robin TCP proxy
// (no affinity), 45 stock socket.io-client clients with default transports: each handshake lands
// on some instance (the owner), and the WebSocket upgrade, usually on another one, moves the
// session there (engine/cluster migrate.go), so every socket lives on exactly one instance and
// none is relayed. After a SIGKILL of instance 3, at most half the clients disconnect (about a
// third: those whose socket it held), and those reconnect and recover every event, none lost
// or twice (cluster-clients.mjs). Before the hand-over, an upgrade landing on a non-owner was
// spliced through it for the socket's life, so one death reached far more than its own.
func TestClusterBlastRadius(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three server processes and 45 Node clients")
	}
	dir, node := nodeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	tmp := t.TempDir()
	bin := pushgateBinary(t)
	const n, clients = 3, 45
	var addrs, internal []string
	for i := 0; i < n; i++ {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
		internal = append(internal, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
	}
	lb := startRoundRobin(t, addrs)
	public := "http://" + lb.addr()
	cl := startCluster(t, bin, tmp, strings.Join(broker.ListenAddrs(), ","), public, addrs, internal)
	token := productRun(t, bin, "token", "--data-dir", cl.dataDirs[0], "--tenant", "demo", "--roles", quickStartRoles)
	cl.configure(t, token)

	run := exec.CommandContext(ctx, node, "cluster-clients.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+public, "PUSHGATE_TOKEN="+token, "STREAM=cl",
		"N_DEFAULT="+strconv.Itoa(clients), "N_POLLING=0", "N_SSE=0", "EVENTS1=5", "EVENTS2=5")
	run.WaitDelay = 5 * time.Second
	var held [n]float64
	var moved float64
	result := runClients(t, run, func() {
		for i := range addrs {
			m := cl.metrics(t, i)
			held[i] = m["pushgate_connections"]
			moved += m["pushgate_cluster_migrated_in_total"]
			if v := m["pushgate_cluster_proxied_connections"] + m["pushgate_cluster_proxied_total"]; v != 0 {
				t.Errorf("instance %d relays %v WebSocket connections to their owner: want 0 (the session moves)", i+1, v)
			}
		}
		_ = cl.procs[2].cmd.Process.Kill() // SIGKILL: no drain, no tombstone
		<-cl.procs[2].done
		t.Logf("killed instance 3 (%s); open connections per instance before: %v; sessions moved on upgrade: %v", addrs[2], held, moved)
	})
	t.Logf("clients: %s", result)
	var sum struct {
		Disconnected struct{ Default int } `json:"disconnected"`
		ReconnectMs  struct{ P50, Max int } `json:"reconnectMs"`
	}
	if err := json.Unmarshal([]byte(result), &sum); err != nil {
		t.Fatalf("RESULT: %v", err)
	}
	share := float64(sum.Disconnected.Default) / clients
	t.Logf("blast radius: %d of %d clients disconnected (%.0f%%); reconnect p50 %d ms, max %d ms",
		sum.Disconnected.Default, clients, 100*share, sum.ReconnectMs.P50, sum.ReconnectMs.Max)
	if share > 0.5 {
		t.Errorf("killing one of 3 instances disconnected %d of %d clients (%.0f%%), want at most half (about a third: its own sockets)",
			sum.Disconnected.Default, clients, 100*share)
	}
	if moved == 0 {
		t.Error("no session moved on upgrade: every upgrade landed on its owner?")
	}
}
