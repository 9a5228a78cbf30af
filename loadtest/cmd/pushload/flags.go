package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/runner"
)

type options struct {
	fs           *flag.FlagSet
	url          string
	kind         string
	conns        int
	rate         float64
	inflight     int
	workers      int
	sources      string
	duration     time.Duration
	drain        time.Duration
	tenant       string
	stream       string
	namespace    string
	token        string
	tokenFile    string
	query        string
	ssePath      string
	publishRates string
	burst        int
	payload      int
	publishConns int
	publishURL   string
	publishTok   string
	eventNS      string
	eventName    string
	setupStream  bool
	slow         float64
	hsTimeout    time.Duration
	scenario     string
	jsonOut      string
	hists        bool
	procs        int
	child        bool
	idBase       uint64
	progress     time.Duration

	rates []float64
	srcs  []netip.Addr
}

const usage = `pushload — pushgate load generator (Socket.IO over WebSocket, polling→WebSocket, SSE)

Ramps --conns clients at --rate per second (at most --inflight handshakes at once),
spread over --sources, holds them for --duration per step while the built-in publisher
(optional) posts --publish-rate events/s, then prints one JSON line per step and a
summary line on stdout and a table on stderr. Progress goes to stderr every second.

Examples:
  pushload --url http://127.0.0.1:8080 --token "$TOKEN" --conns 5000 --rate 1000 \
           --sources 4 --publish-rate 1,5,10 --payload-bytes 100 --duration 20s
  pushload --kind sse --conns 1000 --token "$TOKEN" --publish-rate 10
  pushload --procs 3 --sources 6 --conns 45000 --rate 3000 --publish-rate 2   # > 20k fds
  pushload --url http://127.0.0.1:3100 --namespace / --conns 100 --duration 5s  # conformance fixture

Flags:
`

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("pushload", flag.ContinueOnError)
	o.fs = fs
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL (IPv4 literal or host name)")
	fs.StringVar(&o.kind, "kind", "ws", "client kind: ws (Socket.IO over WebSocket only), upgrade (polling then WebSocket), sse")
	fs.IntVar(&o.conns, "conns", 100, "number of clients to open in this run (all processes)")
	fs.Float64Var(&o.rate, "rate", 500, "new connections per second (0 = as fast as --inflight allows)")
	fs.IntVar(&o.inflight, "inflight", 500, "max handshakes in flight (keep well below somaxconn 4096)")
	fs.IntVar(&o.workers, "workers", 0, "epoll worker goroutines per process (0 = GOMAXPROCS)")
	fs.StringVar(&o.sources, "sources", "", "source addresses: comma list (127.0.0.2,127.0.0.3) or a count N meaning 127.0.0.2..N+1; empty = kernel's choice")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "hold time per step (per publish rate), after the ramp")
	fs.DurationVar(&o.drain, "drain", 2*time.Second, "wait after the last publish before counting losses")
	fs.StringVar(&o.tenant, "tenant", "demo", "tenant slug: Socket.IO namespace /<tenant> and SSE ?tenant=")
	fs.StringVar(&o.stream, "stream", "bench", "stream id")
	fs.StringVar(&o.namespace, "namespace", "", "Socket.IO namespace (default /<tenant>; use / for the conformance fixture)")
	fs.StringVar(&o.token, "token", os.Getenv("PUSHLOAD_TOKEN"), "JWT for subscribers (Socket.IO auth.token, SSE token query) and, by default, the publisher; env PUSHLOAD_TOKEN")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the token from this file")
	fs.StringVar(&o.query, "query", "", "Engine.IO handshake query (default stream=<stream>)")
	fs.StringVar(&o.ssePath, "sse-path", "", "SSE request target (default /stream/v1/streams/<stream>?tenant=<tenant>[&token=<token>])")
	fs.StringVar(&o.publishRates, "publish-rate", "", "built-in publisher: events/s, or a comma list of steps (e.g. 1,2,5,10); empty = no publisher (idle hold or external publisher)")
	fs.IntVar(&o.burst, "burst", 1, "events posted back-to-back per publisher tick (tick interval = burst/rate)")
	fs.IntVar(&o.payload, "payload-bytes", 100, "size of each event's payload object in bytes")
	fs.IntVar(&o.publishConns, "publish-conns", 1, "concurrent publisher POSTs (1 keeps seq order; >1 makes out_of_order meaningless)")
	fs.StringVar(&o.publishURL, "publish-url", "", "publisher base URL (default --url)")
	fs.StringVar(&o.publishTok, "publish-token", "", "publisher token (default --token)")
	fs.StringVar(&o.eventNS, "event-namespace", "bench", "event namespace posted by the publisher")
	fs.StringVar(&o.eventName, "event-name", "tick", "event name posted by the publisher")
	fs.BoolVar(&o.setupStream, "setup-stream", false, "create the stream first (PATCH configuration; token needs configuration-admin)")
	fs.Float64Var(&o.slow, "slow-fraction", 0, "fraction of clients that stop reading once connected (slow consumers), e.g. 0.05")
	fs.DurationVar(&o.hsTimeout, "handshake-timeout", 10*time.Second, "dial-to-subscribed timeout per client")
	fs.StringVar(&o.scenario, "scenario", "", "label for the JSON lines (default <kind>)")
	fs.StringVar(&o.jsonOut, "json-out", "", "also write the JSON lines (with histograms) to this file")
	fs.BoolVar(&o.hists, "hists", false, "include serialised histograms in the stdout JSON lines")
	fs.IntVar(&o.procs, "procs", 1, "loader processes (re-exec with disjoint --sources; needed above ~19k connections: 20k fds per process)")
	fs.DurationVar(&o.progress, "progress", time.Second, "progress line interval on stderr (0 = off)")
	fs.BoolVar(&o.child, "child", false, "internal: run as a --procs child")
	fs.Uint64Var(&o.idBase, "id-base", 0, "internal: first client id")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if _, err := client.ParseKind(o.kind); err != nil {
		return nil, err
	}
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, err
		}
		o.token = strings.TrimSpace(string(b))
	}
	if o.scenario == "" {
		o.scenario = o.kind
	}
	var err error
	if o.srcs, err = parseSources(o.sources); err != nil {
		return nil, err
	}
	if o.publishRates != "" {
		for _, f := range strings.Split(o.publishRates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r < 0 {
				return nil, fmt.Errorf("bad --publish-rate %q", f)
			}
			o.rates = append(o.rates, r)
		}
	}
	if o.conns < 0 || o.procs < 1 || o.slow < 0 || o.slow > 1 {
		return nil, fmt.Errorf("bad --conns, --procs or --slow-fraction")
	}
	return o, nil
}

// parseSources accepts "" , "N" or a comma list of IPv4 addresses.
func parseSources(s string) ([]netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 250 {
			return nil, fmt.Errorf("--sources %d out of range 1..250", n)
		}
		out := make([]netip.Addr, n)
		for i := range out {
			out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		}
		return out, nil
	}
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("bad source address %q (IPv4 only)", f)
		}
		out = append(out, a)
	}
	return out, nil
}

// runnerConfig builds the loader configuration for this process.
func (o *options) runnerConfig() (runner.Config, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Host == "" {
		return runner.Config{}, fmt.Errorf("bad --url %q", o.url)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return runner.Config{}, err
	}
	var target netip.AddrPort
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.To4()); ok && ip.To4() != nil {
			p, _ := strconv.Atoi(port)
			target = netip.AddrPortFrom(a, uint16(p))
			break
		}
	}
	if !target.IsValid() {
		return runner.Config{}, fmt.Errorf("--url host %q has no IPv4 address", host)
	}
	ns := o.namespace
	if ns == "" {
		ns = "/" + o.tenant
	}
	query := o.query
	if query == "" {
		query = "stream=" + url.QueryEscape(o.stream)
	}
	var auth []byte
	if o.token != "" {
		auth = []byte(`{"token":` + strconv.Quote(o.token) + `,"stream":` + strconv.Quote(o.stream) + `}`)
	}
	sse := o.ssePath
	if sse == "" {
		sse = "/stream/v1/streams/" + url.PathEscape(o.stream) + "?tenant=" + url.QueryEscape(o.tenant)
		if o.token != "" {
			sse += "&token=" + url.QueryEscape(o.token)
		}
	}
	return runner.Config{
		Kind:    client.Kind(o.kind),
		Target:  target,
		Client:  client.Config{Host: u.Host, EIOPath: "/socket.io/", Query: query, Namespace: ns, Auth: auth, SSEPath: sse},
		Sources: o.srcs, Conns: o.conns, Rate: o.rate, Inflight: o.inflight, Workers: o.workers,
		SlowFraction: o.slow, HandshakeTimeout: o.hsTimeout, IDBase: o.idBase,
	}, nil
}
