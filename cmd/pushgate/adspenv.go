package main

import (
	"flag"
	"net"
	"net/url"
	"strings"
)

// adspFallback reads one of ADSP's deployment variables (apps/push-service/src/environments/
// environment.ts) as the value of a pushgate flag. Fallbacks apply only when neither the flag nor
// its PUSHGATE_ variable is set. Flag "" means the variable is acknowledged only (logged, no
// effect): pushgate has no such setting.
type adspFallback struct {
	Vars   []string // the ADSP variables; the first must be set for the fallback to apply
	Flag   string   // the pushgate flag it fills
	Secret bool     // the value is never logged (it never is; this marks the row in the README)
	// Value derives the flag value from the variables (lookup returns a variable's value).
	Value func(lookup func(string) (string, bool), def string) string
}

// adspFallbacks is the one table of ADSP variable → pushgate flag (README "Replacing the ADSP
// push-service" holds its mirror, checked by TestADSPFallbackTableMatchesREADME).
var adspFallbacks = []adspFallback{
	{Vars: []string{"PORT"}, Flag: "listen", Value: func(get func(string) (string, bool), def string) string {
		port, _ := get("PORT")
		host, _, err := net.SplitHostPort(def)
		if err != nil {
			host = ""
		}
		return net.JoinHostPort(host, port) // the host stays the default
	}},
	{Vars: []string{"KEYCLOAK_ROOT_URL"}, Flag: "oidc-base", Value: func(get func(string) (string, bool), _ string) string {
		root, _ := get("KEYCLOAK_ROOT_URL")
		return strings.TrimRight(root, "/") + "/auth" // the SDK's issuer is <root>/auth/realms/<realm>
	}},
	{Vars: []string{"DIRECTORY_URL"}, Flag: "directory-url", Value: plain("DIRECTORY_URL")},
	{Vars: []string{"CLIENT_ID"}, Flag: "configuration-service-client-id", Value: plain("CLIENT_ID")},
	{Vars: []string{"CLIENT_SECRET"}, Flag: "configuration-service-client-secret", Secret: true, Value: plain("CLIENT_SECRET")},
	{Vars: []string{"AMQP_HOST", "AMQP_USER", "AMQP_PASSWORD"}, Flag: "amqp-url", Secret: true, Value: amqpURL},
	{Vars: []string{"LOG_LEVEL"}, Flag: "log-level", Value: func(get func(string) (string, bool), _ string) string {
		v, _ := get("LOG_LEVEL")
		return winstonLevel(v)
	}},
	{Vars: []string{"TRUSTED_PROXY"}},
	{Vars: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
}

func plain(name string) func(func(string) (string, bool), string) string {
	return func(get func(string) (string, bool), _ string) string {
		v, _ := get(name)
		return v
	}
}

// amqpURL builds amqp://user:password@host:5672 from ADSP's AMQP_HOST, AMQP_USER and AMQP_PASSWORD
// (user and password default to guest as in ADSP; a host with its own port keeps it).
func amqpURL(get func(string) (string, bool), _ string) string {
	host, _ := get("AMQP_HOST")
	user, ok := get("AMQP_USER")
	if !ok {
		user = "guest"
	}
	pass, ok := get("AMQP_PASSWORD")
	if !ok {
		pass = "guest"
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "5672")
	}
	u := url.URL{Scheme: "amqp", User: url.UserPassword(user, pass), Host: host}
	return u.String()
}

// winstonLevel maps ADSP's winston levels to slog's (verbose, http and silly are finer than debug).
func winstonLevel(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "error":
		return "error"
	case "warn", "warning":
		return "warn"
	case "info":
		return "info"
	case "http", "verbose", "debug", "silly":
		return "debug"
	}
	return v // anything else is reported by --log-level's own check
}

// applyADSPFallbacks sets the flags in unset (neither given nor from PUSHGATE_*) from ADSP's
// variables; it returns the fallbacks used as "VAR→--flag" (never values) and those read but not
// applied (acknowledged variables, or flags this build does not have).
func applyADSPFallbacks(fs *flag.FlagSet, unset map[string]bool, lookup func(string) (string, bool)) (used, ignored []string, err error) {
	for _, fb := range adspFallbacks {
		if _, ok := lookup(fb.Vars[0]); !ok {
			continue
		}
		if fb.Flag == "" {
			ignored = append(ignored, fb.Vars[0])
			continue
		}
		f := fs.Lookup(fb.Flag)
		if f == nil {
			ignored = append(ignored, fb.Vars[0]+"→--"+fb.Flag+" (no such flag in this build)")
			continue
		}
		if !unset[fb.Flag] {
			continue
		}
		if e := f.Value.Set(fb.Value(lookup, f.DefValue)); e != nil {
			return nil, nil, &fallbackError{vars: fb.Vars, flag: fb.Flag, err: e}
		}
		used = append(used, strings.Join(fb.Vars, ",")+"→--"+fb.Flag)
	}
	return used, ignored, nil
}

type fallbackError struct {
	vars []string
	flag string
	err  error
}

func (e *fallbackError) Error() string {
	return strings.Join(e.vars, ",") + " (ADSP fallback for --" + e.flag + "): " + e.err.Error()
}

func (e *fallbackError) Unwrap() error { return e.err }
