package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
