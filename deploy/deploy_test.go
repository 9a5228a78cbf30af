package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.yaml.in/yaml/v3"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/source/kafka"
)

// ---- the binary's flags ------------------------------------------------------------------------

var (
	flagsOnce sync.Once
	flagsErr  error
	flagDefs  map[string]string // flag name -> default ("" when none is printed)
)

// serveFlags builds cmd/pushgate and reads `pushgate serve -help`: the flags that really exist,
// with their defaults.
func serveFlags(t *testing.T) map[string]string {
	t.Helper()
	flagsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pushgate-deploy-test")
		if err != nil {
			flagsErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "pushgate")
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/pushgate").CombinedOutput(); err != nil {
			flagsErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		out, _ := exec.CommandContext(ctx, bin, "serve", "-help").CombinedOutput() // -help exits non-zero
		flagDefs = map[string]string{}
		head := regexp.MustCompile(`^  -([a-z0-9-]+)`)
		def := regexp.MustCompile(`\(default "?([^")]*)"?\)\s*$`)
		var last string
		for _, line := range strings.Split(string(out), "\n") {
			if m := head.FindStringSubmatch(line); m != nil {
				last = m[1]
				flagDefs[last] = ""
			}
			if m := def.FindStringSubmatch(line); m != nil && last != "" {
				flagDefs[last] = m[1]
			}
		}
		if len(flagDefs) < 20 {
			flagsErr = fmt.Errorf("only %d flags parsed from:\n%s", len(flagDefs), out)
		}
	})
	if flagsErr != nil {
		t.Fatal(flagsErr)
	}
	return flagDefs
}

// flagOfEnv maps PUSHGATE_DRAIN_TIMEOUT to drain-timeout.
func flagOfEnv(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "PUSHGATE_")), "_", "-")
}

func portOf(t *testing.T, listen string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("listen address %q: %v", listen, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ---- Dockerfile --------------------------------------------------------------------------------

type instruction struct{ op, args string }

// dockerStages returns the instructions of each stage (continuation lines joined, comments dropped).
func dockerStages(t *testing.T) [][]instruction {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		op, args, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %s", line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], instruction{op, strings.TrimSpace(args)})
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	built := false
	for _, in := range build {
		if in.op == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/pushgate") {
			built = true
		}
	}
	if !built {
		t.Error("the build stage does not build ./cmd/pushgate with CGO_ENABLED=0 (a static binary)")
	}
	base := strings.Fields(final[0].args)[0]
	if !strings.Contains(base, "distroless") && base != "scratch" {
		t.Errorf("final stage FROM %s: want a distroless or scratch base (no shell)", base)
	}
	flags := serveFlags(t)
	var user, listen, expose string
	var entry []string
	for _, in := range final {
		switch in.op {
		case "RUN", "SHELL":
			t.Errorf("final stage has %s: it must need no shell", in.op)
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = in.args
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
				t.Errorf("%s %s: want the exec (JSON array) form, no shell", in.op, in.args)
			}
			if in.op == "ENTRYPOINT" {
				entry = argv
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				if !strings.HasPrefix(k, "PUSHGATE_") {
					continue
				}
				if _, ok := flags[flagOfEnv(k)]; !ok {
					t.Errorf("ENV %s: pushgate serve has no flag --%s", k, flagOfEnv(k))
				}
				if k == "PUSHGATE_LISTEN" {
					listen = v
				}
			}
		}
	}
	uid := strings.Split(user, ":")[0]
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if len(entry) < 2 || entry[1] != "serve" || !strings.HasSuffix(entry[0], "/pushgate") {
		t.Errorf("ENTRYPOINT %v: want [/…/pushgate serve]", entry)
	}
	if listen == "" || expose != strconv.Itoa(portOf(t, listen)) {
		t.Errorf("EXPOSE %q does not match PUSHGATE_LISTEN %q", expose, listen)
	}
}

// ---- Kubernetes manifests ----------------------------------------------------------------------

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type deploymentSpec struct {
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec struct {
			TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
			SecurityContext               struct {
				RunAsNonRoot bool `yaml:"runAsNonRoot"`
				RunAsUser    int  `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []struct {
				Args  []string `yaml:"args"`
				Ports []struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				} `yaml:"ports"`
				ReadinessProbe probe `yaml:"readinessProbe"`
				LivenessProbe  probe `yaml:"livenessProbe"`
				Lifecycle      struct {
					PreStop struct {
						Sleep struct {
							Seconds int `yaml:"seconds"`
						} `yaml:"sleep"`
					} `yaml:"preStop"`
				} `yaml:"lifecycle"`
			} `yaml:"containers"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
}

// manifests decodes every document of every kubernetes/*.yaml named by kustomization.yaml.
func manifests(t *testing.T) map[string]k8sObject {
	t.Helper()
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	b, err := os.ReadFile("kubernetes/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	objs := map[string]k8sObject{}
	for _, r := range kust.Resources {
		f, err := os.Open(filepath.Join("kubernetes", r))
		if err != nil {
			t.Fatalf("kustomization resource: %v", err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var o k8sObject
			if err := dec.Decode(&o); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			objs[o.Kind] = o
		}
		f.Close()
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		if _, ok := objs[kind]; !ok {
			t.Fatalf("no %s in the manifests", kind)
		}
	}
	return objs
}

func decodeSpec(t *testing.T, o k8sObject, v any) {
	t.Helper()
	if err := o.Spec.Decode(v); err != nil {
		t.Fatalf("%s spec: %v", o.Kind, err)
	}
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// k8sDeployment returns the decoded Deployment and its container's flags (name -> value).
func k8sDeployment(t *testing.T) (deploymentSpec, map[string]string) {
	t.Helper()
	var d deploymentSpec
	decodeSpec(t, manifests(t)["Deployment"], &d)
	if len(d.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Template.Spec.Containers))
	}
	args := map[string]string{}
	for _, a := range d.Template.Spec.Containers[0].Args {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok {
			t.Errorf("argument %q: want --flag=value", a)
		}
		args[k] = v
	}
	return d, args
}

func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	d, args := k8sDeployment(t)
	flags := serveFlags(t)
	for k := range args {
		if _, ok := flags[k]; !ok {
			t.Errorf("argument --%s: pushgate serve has no such flag", k)
		}
	}
	pod := d.Template.Spec
	c := pod.Containers[0]
	listen := args["listen"]
	if listen == "" {
		listen = flags["listen"]
	}
	port := portOf(t, listen)
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port || c.Ports[0].Name == "" {
		t.Errorf("container ports %+v, want one named port %d (--listen %s)", c.Ports, port, listen)
	}
	portName := c.Ports[0].Name
	if p := d.Template.Metadata.Annotations["prometheus.io/port"]; p != strconv.Itoa(port) {
		t.Errorf("prometheus.io/port %q, want %d", p, port)
	}
	for _, pr := range []struct {
		name string
		p    probe
		path string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/livez"}} {
		if pr.p.HTTPGet == nil || pr.p.HTTPGet.Path != pr.path || pr.p.HTTPGet.Port != portName {
			t.Errorf("%s probe %+v: want httpGet %s on port %q", pr.name, pr.p.HTTPGet, pr.path, portName)
		}
	}
	drainArg := args["drain-timeout"]
	if drainArg == "" {
		drainArg = flags["drain-timeout"]
	}
	drain, err := time.ParseDuration(drainArg)
	if err != nil {
		t.Fatalf("drain-timeout %q: %v", drainArg, err)
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second
	if grace < preStop+drain+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s: want at least preStop %s + --drain-timeout %s + 5 s", grace, preStop, drain)
	}
	if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot with a non-zero runAsUser", pod.SecurityContext)
	}
	for _, in := range dockerStages(t)[len(dockerStages(t))-1] {
		if in.op == "USER" && strings.Split(in.args, ":")[0] != strconv.Itoa(pod.SecurityContext.RunAsUser) {
			t.Errorf("runAsUser %d differs from the image's USER %s", pod.SecurityContext.RunAsUser, in.args)
		}
	}
	labels := d.Template.Metadata.Labels
	if !subset(d.Selector.MatchLabels, labels) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Selector.MatchLabels, labels)
	}
	var svc serviceSpec
	decodeSpec(t, objs["Service"], &svc)
	if !subset(svc.Selector, labels) || len(svc.Ports) == 0 || svc.Ports[0].TargetPort != portName {
		t.Errorf("Service %+v: want a selector of %v and targetPort %q", svc, labels, portName)
	}
	var pdb pdbSpec
	decodeSpec(t, objs["PodDisruptionBudget"], &pdb)
	if !subset(pdb.Selector.MatchLabels, labels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods %v", pdb.Selector.MatchLabels, labels)
	}
}

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

// prometheusGenerated are series Prometheus makes itself when scraping.
var prometheusGenerated = map[string]bool{"up": true}

// TestDashboardAndRulesMetricsExist starts a Kafka-mode server against kfake (so that the
// pushgate_kafka_* series, including the per-partition lag, exist) and checks that every metric the
// dashboard and the rules query is on its /metrics, and that the probe paths answer 200.
func TestDashboardAndRulesMetricsExist(t *testing.T) {
	used := queriedMetrics(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, kafka.DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv, err := engine.New(engine.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Kafka: &kafka.Config{Brokers: c.ListenAddrs()},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := get("/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("/livez"); code != 200 {
		t.Fatalf("/livez %d %s", code, body)
	}
	_, body := get("/metrics")
	exported := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "#" && (f[1] == "HELP" || f[1] == "TYPE") {
			exported[f[2]] = true
		}
	}
	for _, must := range []string{"pushgate_ready", "pushgate_kafka_lag", "pushgate_connections"} {
		if !exported[must] {
			t.Fatalf("/metrics lacks %s:\n%s", must, body)
		}
	}
	n := 0
	for file, names := range used {
		for _, name := range names {
			n++
			if !exported[name] && !prometheusGenerated[name] {
				t.Errorf("%s uses %s, which the server does not export", file, name)
			}
		}
	}
	t.Logf("%d metric references checked against %d exported metrics", n, len(exported))
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
