package pushgate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportPolicy enforces the dependency direction of design.md (R1): protocol packages are
// pure, nothing imports cmd/, the engine never imports the load generator, and each third-party
// runtime dependency is owned by one package. Never edit the table to make a build pass.
func TestImportPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/pushgate/pushgate/"
	owners := map[string][]string{
		"github.com/cloudwego/netpoll":   {"engine/netserver"},
		"github.com/segmentio/kafka-go":  {"engine/kafka/client"}, // the other Kafka packages use its aliases
		"github.com/rabbitmq/amqp091-go": {"engine/amqp/rabbit"},
		"go.etcd.io/bbolt":               {"engine/store"},
		"golang.org/x/oauth2":            {"engine/adsp"}, // the ADSP service account (client credentials)
		"go.yaml.in/yaml/v3":             {"deploy"},      // deploy_test.go reads the Kubernetes manifests and the rules
		// The OpenTelemetry SDK: engine/tracing builds the provider and records every span.
		"go.opentelemetry.io/otel":                                        {"engine/tracing"},
		"go.opentelemetry.io/otel/trace":                                  {"engine/tracing"},
		"go.opentelemetry.io/otel/sdk/trace":                              {"engine/tracing"},
		"go.opentelemetry.io/otel/sdk/resource":                           {"engine/tracing"},
		"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp": {"engine/tracing"},
		"go.opentelemetry.io/otel/propagation":                            {"engine/tracing"},
		// chromedp drives the browser in browser/'s tests only; no runtime package may use it.
		"github.com/chromedp/chromedp": {"browser"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := strings.TrimPrefix(fields[0], mod), fields[1:]
		direct := directImports(t, fields[0])
		for d := range direct {
			if strings.HasPrefix(pkg, "protocol/") && isForbiddenForProtocol(d) {
				t.Errorf("%s must not import %s (protocol packages are pure)", pkg, d)
			}
		}
		for _, d := range deps {
			switch {
			case strings.HasPrefix(d, mod+"cmd/"):
				t.Errorf("%s must not import %s (nothing imports cmd/)", pkg, d)
			case strings.HasPrefix(pkg, "protocol/") && strings.HasPrefix(d, mod+"engine"):
				t.Errorf("%s must not import %s (cmd → engine → protocol)", pkg, d)
			case strings.HasPrefix(pkg, "engine") && strings.HasPrefix(d, mod+"loadtest"):
				t.Errorf("%s must not import %s", pkg, d)
			case strings.HasPrefix(pkg, "engine/") && d == mod+"engine":
				// engine/doc.go: the halves do not know which assembly they are in.
				t.Errorf("%s must not import the root engine package (it assembles them, not the other way)", pkg)
			}
		}
		for dep, allowed := range owners {
			if !direct[dep] {
				continue
			}
			ok := false
			for _, a := range allowed {
				if pkg == a {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which only %v may import", pkg, dep, allowed)
			}
		}
	}
}

// configLeafAllowed are the engine packages engine/config may import: the component settings it
// aggregates (the Kafka client's, RabbitMQ's, the ADSP services', the webhook and
// configuration-service settings, the CORS policy type) and the tracing handle (handed in by the
// caller like the Logger). It is otherwise a leaf: no component, store, assembly or transport.
// (The settings types still live in their component packages, so config links their
// dependencies; moving them to leaf settings packages is left for later.)
var configLeafAllowed = map[string]bool{
	"engine/kafka/client": true, "engine/amqp/rabbit": true, "engine/adsp": true, "engine/tracing": true,
	"engine/webhook": true, "engine/configsvc": true, "engine/conn": true,
}

// TestConfigIsALeaf: engine/config imports no engine package beyond the settings it aggregates.
func TestConfigIsALeaf(t *testing.T) {
	const mod = "github.com/pushgate/pushgate/"
	for d := range directImports(t, mod+"engine/config") {
		if p, ok := strings.CutPrefix(d, mod); ok && !configLeafAllowed[p] {
			t.Errorf("engine/config imports %s: it holds settings only (add the setting type to the component, not the component to config)", p)
		}
	}
}

// TestEdgeNeedsNoStore: the edge names tenants with engine/tenant; it never imports the bbolt
// store itself (it reaches it only through engine/config's settings types until those move).
func TestEdgeNeedsNoStore(t *testing.T) {
	const mod = "github.com/pushgate/pushgate/"
	for _, pkg := range []string{"engine/edge", "engine/push", "engine/hub", "engine/transport", "engine/netserver"} {
		if directImports(t, mod+pkg)[mod+"engine/store"] {
			t.Errorf("%s imports engine/store: use engine/tenant for tenants", pkg)
		}
	}
}

func isForbiddenForProtocol(dep string) bool {
	switch dep {
	case "net", "net/http", "os", "log", "log/slog", "time/tzdata":
		return true
	}
	return strings.HasPrefix(dep, "github.com/cloudwego/") || strings.HasPrefix(dep, "github.com/valyala/")
}

func directImports(t *testing.T, pkg string) map[string]bool {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	m := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		m[f] = true
	}
	return m
}

// TestKafkaPackagesByIdea keeps the Kafka split of issue 19: every Kafka idea builds on
// engine/kafka/client (the only kafka-go importer) and not on another idea, except where one idea
// needs another (named below with why); engine/config needs only the client's Config; the shared
// test helpers (engine/kafka/kafkatest) are for tests only.
func TestKafkaPackagesByIdea(t *testing.T) {
	const mod = "github.com/pushgate/pushgate/"
	const (
		client     = "engine/kafka/client"
		source     = "engine/source/kafka"
		configsync = "engine/kafka/configsync"
		group      = "engine/kafka/group"
		directory  = "engine/kafka/directory"
		kafkatest  = "engine/kafka/kafkatest"
	)
	ideas := []string{source, configsync, group, directory}
	// allowed[a][b]: idea a may depend on idea b.
	allowed := map[string]map[string]bool{
		group:      {source: true},    // the group decodes records and names them as the Source does (DecodeRecord, RecordID)
		configsync: {directory: true}, // the config topic carries the directory's announcements: configsync skips their keys
	}
	deps := func(pkg string) map[string]bool {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		m := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			if d != mod+pkg {
				m[strings.TrimPrefix(d, mod)] = true
			}
		}
		return m
	}
	for _, idea := range ideas {
		d := deps(idea)
		if !d[client] {
			t.Errorf("%s does not use %s", idea, client)
		}
		for _, other := range ideas {
			if other != idea && d[other] && !allowed[idea][other] {
				t.Errorf("%s depends on %s: one Kafka idea per package, each on the client", idea, other)
			}
		}
	}
	for _, pkg := range []string{client, "engine/config"} {
		d := deps(pkg)
		for _, idea := range ideas {
			if d[idea] {
				t.Errorf("%s depends on %s (it needs only the client's Config)", pkg, idea)
			}
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, d := range fields[1:] {
			if d == mod+kafkatest {
				t.Errorf("%s depends on %s, which only tests may import", fields[0], kafkatest)
			}
		}
	}
}
