package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func adspTestFlags() *flag.FlagSet {
	fs := newFlagSet("t")
	fs.String("listen", "127.0.0.1:8080", "")
	fs.String("oidc-base", "", "")
	fs.String("directory-url", "", "")
	fs.String("configuration-service-client-id", "urn:ads:platform:push-service", "")
	fs.String("configuration-service-client-secret", "", "")
	fs.String("log-level", "info", "")
	return fs
}

// ADSP's deployment variables fill the flags neither given nor set by PUSHGATE_*; the report names
// variables and flags, never values; a variable without a flag in this build is reported as such.
func TestADSPFallbacks(t *testing.T) {
	env := map[string]string{
		"PORT": "3333", "KEYCLOAK_ROOT_URL": "https://access.example/", "DIRECTORY_URL": "https://dir.example",
		"CLIENT_ID": "urn:ads:platform:push-service", "CLIENT_SECRET": "s3cret-value", "LOG_LEVEL": "verbose",
		"AMQP_HOST": "rabbit", "AMQP_USER": "u", "AMQP_PASSWORD": "p@ss", "TRUSTED_PROXY": "uniquelocal",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := adspTestFlags()
	t.Setenv("PUSHGATE_LOG_LEVEL", "warn")
	unset, err := parseWithEnvUnset(fs, []string{"--directory-url", "https://given.example"})
	if err != nil {
		t.Fatal(err)
	}
	used, ignored, err := applyADSPFallbacks(fs, unset, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"listen": "127.0.0.1:3333", "oidc-base": "https://access.example/auth", "directory-url": "https://given.example",
		"configuration-service-client-secret": "s3cret-value", "log-level": "warn",
	}
	for name, v := range want {
		if got := fs.Lookup(name).Value.String(); got != v {
			t.Errorf("--%s = %q, want %q", name, got, v)
		}
	}
	wantUsed := []string{"PORT→--listen", "KEYCLOAK_ROOT_URL→--oidc-base", "CLIENT_ID→--configuration-service-client-id", "CLIENT_SECRET→--configuration-service-client-secret"}
	if !slices.Equal(used, wantUsed) {
		t.Errorf("used %q, want %q", used, wantUsed)
	}
	report := strings.Join(append(used, ignored...), " ")
	for _, secret := range []string{"s3cret-value", "p@ss"} {
		if strings.Contains(report, secret) {
			t.Errorf("the report shows a secret: %s", report)
		}
	}
	for _, v := range []string{"TRUSTED_PROXY", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !strings.Contains(report, v) {
			t.Errorf("%s not acknowledged in %q", v, report)
		}
	}
	if fs.Lookup("amqp-url") == nil && !strings.Contains(report, "AMQP_HOST,AMQP_USER,AMQP_PASSWORD") && !strings.Contains(report, "AMQP_HOST→--amqp-url (no such flag") {
		t.Errorf("AMQP variables neither applied nor reported: %q", report)
	}

	// The values the table derives.
	if got := amqpURL(lookup, ""); got != "amqp://u:p%40ss@rabbit:5672" {
		t.Errorf("amqp URL %q", got)
	}
	if got := amqpURL(func(k string) (string, bool) {
		if k == "AMQP_HOST" {
			return "rabbit:5673", true
		}
		return "", false
	}, ""); got != "amqp://guest:guest@rabbit:5673" {
		t.Errorf("amqp URL with defaults %q", got)
	}
	for in, out := range map[string]string{"silly": "debug", "http": "debug", "debug": "debug", "info": "info", "warn": "warn", "error": "error"} {
		if got := winstonLevel(in); got != out {
			t.Errorf("LOG_LEVEL %s → %s, want %s", in, got, out)
		}
	}
}

// README "Replacing the ADSP push-service" lists exactly the fallback table, in order.
func TestADSPFallbackTableMatchesREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- adsp-env-table:")
	if !ok {
		t.Fatal("README has no adsp-env-table marker")
	}
	var rows [][2]string
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(after, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "ADSP variable" {
			continue
		}
		var vars []string
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			vars = append(vars, m[1])
		}
		fl := strings.TrimPrefix(strings.Trim(strings.TrimSpace(cells[2]), "`"), "--")
		if fl == "—" {
			fl = ""
		}
		rows = append(rows, [2]string{strings.Join(vars, ","), fl})
	}
	var table [][2]string
	for _, fb := range adspFallbacks {
		table = append(table, [2]string{strings.Join(fb.Vars, ","), fb.Flag})
	}
	if !slices.Equal(rows, table) {
		t.Fatalf("README table %q\ncode table   %q", rows, table)
	}
}

// Every flag the fallback table fills exists on `pushgate serve`.
func TestADSPFallbackFlagsExist(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() {
		var buf []byte
		tmp := make([]byte, 64<<10)
		for {
			n, err := r.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				done <- buf
				return
			}
		}
	}()
	err = runServe([]string{"-h"})
	os.Stderr = stderr
	w.Close()
	usage := string(<-done)
	if err != flag.ErrHelp {
		t.Fatalf("serve -h: %v", err)
	}
	for _, fb := range adspFallbacks {
		if fb.Flag != "" && !strings.Contains(usage, "-"+fb.Flag+" ") {
			t.Errorf("serve has no flag --%s (fallback of %v)", fb.Flag, fb.Vars)
		}
	}
}
