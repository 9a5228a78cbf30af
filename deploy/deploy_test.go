package deploy_test

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

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
				Args []string `yaml:"args"`
				Env  []struct {
					Name      string `yaml:"name"`
					Value     string `yaml:"value"`
					ValueFrom *struct {
						FieldRef *struct {
							FieldPath string `yaml:"fieldPath"`
						} `yaml:"fieldRef"`
						SecretKeyRef *struct {
							Name string `yaml:"name"`
							Key  string `yaml:"key"`
						} `yaml:"secretKeyRef"`
					} `yaml:"valueFrom"`
				} `yaml:"env"`
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
	if len(c.Ports) == 0 || c.Ports[0].ContainerPort != port || c.Ports[0].Name == "" {
		t.Errorf("container ports %+v, want first a named port %d (--listen %s)", c.Ports, port, listen)
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

// TestKubernetesManyInstances: the manifests run the pods in many-instances mode (README "Many
// instances"), checked against the flags the binary accepts: an internal port (--cluster-listen)
// declared on the container but not in the Service, the pod IP advertised through the downward
// API, the cluster secret from a Secret (never in the arguments), and docs/DEPLOY.md creating that
// Secret with the same name and key.
func TestKubernetesManyInstances(t *testing.T) {
	d, args := k8sDeployment(t)
	flags := serveFlags(t)
	c := d.Template.Spec.Containers[0]
	for _, f := range []string{"cluster-listen", "cluster-advertise", "cluster-secret"} {
		if _, ok := flags[f]; !ok {
			t.Fatalf("pushgate serve has no --%s", f)
		}
	}
	listen := args["cluster-listen"]
	if listen == "" {
		t.Fatal("no --cluster-listen: the pods do not forward each other's sessions, so Socket.IO through the Service fails")
	}
	port := portOf(t, listen)
	var named string
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			named = p.Name
		}
	}
	if named == "" {
		t.Errorf("no container port %d for --cluster-listen %s", port, listen)
	}
	var svc serviceSpec
	decodeSpec(t, manifests(t)["Service"], &svc)
	for _, p := range svc.Ports {
		if p.TargetPort == named || p.TargetPort == strconv.Itoa(port) {
			t.Errorf("the Service exposes the internal cluster port %s", p.TargetPort)
		}
	}
	if _, ok := args["cluster-secret"]; ok {
		t.Error("--cluster-secret in the arguments: take it from a Secret (PUSHGATE_CLUSTER_SECRET)")
	}
	env := map[string]string{} // name -> "field:<path>", "secret:<name>/<key>" or the value
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "field:" + e.ValueFrom.FieldRef.FieldPath
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		default:
			env[e.Name] = e.Value
		}
		if name, ok := strings.CutPrefix(e.Name, "PUSHGATE_"); ok {
			if _, known := flags[strings.ReplaceAll(strings.ToLower(name), "_", "-")]; !known {
				t.Errorf("environment variable %s names no flag of pushgate serve", e.Name)
			}
		}
	}
	adv, ok := strings.CutSuffix(args["cluster-advertise"], ":"+strconv.Itoa(port))
	if !ok || !strings.HasPrefix(adv, "$(") || !strings.HasSuffix(adv, ")") {
		t.Fatalf("--cluster-advertise %q: want $(VAR):%d, the pod's own address", args["cluster-advertise"], port)
	}
	if v := adv[2 : len(adv)-1]; env[v] != "field:status.podIP" {
		t.Errorf("--cluster-advertise uses $(%s) = %q, want the downward API's status.podIP", v, env[v])
	}
	secret, ok := strings.CutPrefix(env["PUSHGATE_CLUSTER_SECRET"], "secret:")
	if !ok {
		t.Fatalf("PUSHGATE_CLUSTER_SECRET = %q, want a secretKeyRef", env["PUSHGATE_CLUSTER_SECRET"])
	}
	name, key, _ := strings.Cut(secret, "/")
	doc, err := os.ReadFile("../docs/DEPLOY.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "kubectl create secret generic " + name + " --from-literal=" + key + "="; !strings.Contains(string(doc), want) {
		t.Errorf("docs/DEPLOY.md does not create the Secret the Deployment reads: want %q", want)
	}
	if !strings.Contains(string(doc), "kubectl apply -k deploy/kubernetes") {
		t.Error("docs/DEPLOY.md does not apply the manifests")
	}
}
