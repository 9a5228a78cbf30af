package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.yaml.in/yaml/v3"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// ---- metrics used by the dashboard and the rules -----------------------------------------------

var (
	promStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promBraces  = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)
	promGroups  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promWords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
		"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames returns the series names a PromQL expression selects: identifiers that are not
// functions, keywords, label names (inside {} or by(…)), ranges or numbers.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	for prev := ""; prev != e; {
		prev, e = e, promBraces.ReplaceAllString(e, " ")
	}
	e = promGroups.ReplaceAllString(e, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(e, -1) {
		name := m[0]
		if m[1] != "" || promWords[strings.ToLower(name)] { // a function call or a keyword
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNamesExtractor(t *testing.T) {
	got := metricNames(`sum by (instance, reason) (rate(pushgate_a_total{x=~"$y", reason="by(z)"}[5m])) / on(instance) max(process_open_fds) > bool 0.8`)
	if want := []string{"pushgate_a_total", "process_open_fds"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// queriedMetrics returns every metric name the dashboard and the alert rules use, by file.
func queriedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("grafana/pushgate.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/pushgate.json: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricNames(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: no metric in %q", p.Title, tg.Expr)
			}
			used["grafana/pushgate.json"] = append(used["grafana/pushgate.json"], names...)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err = os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("prometheus/alerts.yaml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			names := metricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("rule %s: no metric in %q", r.Alert, r.Expr)
			}
			used["prometheus/alerts.yaml"] = append(used["prometheus/alerts.yaml"], names...)
		}
	}
	return used
}

// histogramBase is the family name of a histogram's _bucket, _sum or _count series ("" otherwise).
func histogramBase(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return ""
}

// prometheusGenerated are series Prometheus makes itself when scraping.
var prometheusGenerated = map[string]bool{"up": true}

// TestDashboardAndRulesMetricsExist starts a Kafka-mode server against kfake (so that the
// pushgate_kafka_* series, including the per-partition lag, exist) in many-instances mode (so that
// the pushgate_cluster_* series exist) and checks that every metric the dashboard and the rules
// query is on its /metrics, and that the probe paths answer 200. The same check runs against
// `--workers 2` and against Kafka instances (TestDeployKitInEveryMode).
func TestDashboardAndRulesMetricsExist(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, client.DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := engine.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Kafka: &client.Config{Brokers: c.ListenAddrs(), Clustered: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	inst, err := cluster.NewInstance(cluster.InstanceConfig{Listen: "127.0.0.1:0", Secret: []byte("deploy-test-secret-0123456789"),
		Kafka: *cfg.Kafka, Logger: cfg.Logger, Heartbeat: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.Assemble(cfg, engine.Options{Instance: inst}) // Run closes inst after the drain
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	checkDeployKit(t, srv.URL(), true, nil)
}

// clusterMetricsPrefix names the many-instances metrics: they describe the instance directory and
// the forwarding between instances, which exist only with --cluster-listen; the rules that use
// them fire on their values, never on their absence, so a process without it is checked without
// them.
const clusterMetricsPrefix = "pushgate_cluster_"

// checkDeployKit waits until base answers /readyz 200, then checks /livez and that every metric
// the dashboard and the rules query is on base's /metrics (the pushgate_cluster_* ones only when
// clustered). logs, when set, is shown on failure.
func checkDeployKit(t *testing.T, base string, clustered bool, logs fmt.Stringer) {
	t.Helper()
	used := queriedMetrics(t)
	fail := func(format string, args ...any) {
		t.Helper()
		if logs != nil {
			t.Logf("process logs:\n%s", logs)
		}
		t.Fatalf(format, args...)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if err := waitfor.Condition(60*time.Second, func() error {
		if code, body := get("/readyz"); code != 200 {
			return fmt.Errorf("server not ready: %d %s", code, body)
		}
		return nil
	}); err != nil {
		fail("%v", err)
	}
	if code, body := get("/livez"); code != 200 {
		fail("/livez %d %s", code, body)
	}
	_, body := get("/metrics")
	exported := exportedMetrics(body)
	for _, must := range []string{"pushgate_ready", "pushgate_kafka_lag", "pushgate_connections", "pushgate_cluster_instances"} {
		if !clustered && strings.HasPrefix(must, clusterMetricsPrefix) {
			continue
		}
		if !exported[must] {
			fail("/metrics lacks %s:\n%s", must, body)
		}
	}
	n := 0
	for file, names := range used {
		for _, name := range names {
			n++
			if !clustered && strings.HasPrefix(name, clusterMetricsPrefix) {
				continue
			}
			if !exported[name] && !exported[histogramBase(name)] && !prometheusGenerated[name] {
				t.Errorf("%s uses %s, which the server does not export", file, name)
			}
		}
	}
	t.Logf("%d metric references checked against %d exported metrics", n, len(exported))
}

// exportedMetrics returns the metric families named in a /metrics body.
func exportedMetrics(body string) map[string]bool {
	exported := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "#" && (f[1] == "HELP" || f[1] == "TYPE") {
			exported[f[2]] = true
		}
	}
	return exported
}

// ---- promtool ----------------------------------------------------------------------------------

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: `make promtool` installs it (from Debian's prometheus package); `make test` does so")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "check", "rules", "prometheus/alerts.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool: %s", out)
	}
}
