package browser

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The pages the browser snippets run in: served by the test from another loopback port than
// the server (so another origin), with socket.io-client's browser bundle from the pinned npm
// package (interop/node_modules, installed by make test, never committed) and a helper script
// that records what the clients see in window.got.

const originPageHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>another origin</title>
<script src="/socket.io.min.js"></script>
<script src="/helpers.js"></script>
</head><body>a page of another origin</body></html>`

const helpersJS = `
window.got = {};
window.sockets = {};
// connectIO runs the README's browser snippet: io(url, opts), recording what the socket sees.
window.connectIO = (name, url, opts) => {
  const r = window.got[name] = {connects: 0, recovered: [], ids: [], events: [], offsets: [], errors: [], closes: [], disconnects: []};
  const socket = io(url, opts);
  window.sockets[name] = socket;
  socket.on("connect", () => { r.connects++; r.recovered.push(socket.recovered); r.ids.push(socket.id); });
  socket.on("connect_error", (e) => r.errors.push(e.message));
  socket.on("disconnect", (reason) => r.disconnects.push(reason));
  socket.on("pushgate:close", (m) => r.closes.push(m && m.reason));
  socket.on("shop:order-placed", (item, offset) => { r.events.push(item); r.offsets.push(offset); });
};
window.transportOf = (name) => {
  const e = window.sockets[name].io.engine;
  return e && e.transport ? e.transport.name : "";
};
// listenSSE opens an EventSource and records items, resets and closes.
window.listenSSE = (name, url, withCredentials) => {
  const r = window.got[name] = {opens: 0, errors: 0, events: [], ids: [], resets: [], closes: []};
  const es = new EventSource(url, {withCredentials});
  es.onopen = () => r.opens++;
  es.onerror = () => r.errors++;
  es.onmessage = (e) => { r.events.push(JSON.parse(e.data)); r.ids.push(e.lastEventId); };
  es.addEventListener("reset", (e) => r.resets.push(JSON.parse(e.data).reason));
  es.addEventListener("close", (e) => r.closes.push(JSON.parse(e.data).reason));
};
`

// socketIOBundle is the browser bundle of the pinned socket.io-client; npm ci installs it when
// missing (make test runs it first).
func socketIOBundle(t *testing.T) []byte {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "node_modules", "socket.io-client", "dist", "socket.io.min.js")
	if _, err := os.Stat(path); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			t.Fatalf("%s missing and npm not on PATH: run make interop-deps", path)
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// originServer serves the snippet page on its own loopback port; its URL is the page's origin.
func originServer(t *testing.T) *httptest.Server {
	t.Helper()
	bundle := socketIOBundle(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(originPageHTML))
	})
	mux.HandleFunc("/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(bundle)
	})
	mux.HandleFunc("/helpers.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(helpersJS))
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// openOrigin opens the snippet page of origin in a new tab.
func openOrigin(t *testing.T, origin string) *page {
	t.Helper()
	p := newPage(t, 40*time.Second)
	p.run("open "+origin, chromedp.Navigate(origin+"/"))
	p.waitJS("helpers loaded", `typeof io === "function" && typeof window.connectIO === "function"`, 5*time.Second)
	return p
}

// jsArgs renders Go values as JavaScript call arguments.
func jsArgs(args ...any) string {
	b, _ := json.Marshal(args)
	return string(b[1 : len(b)-1])
}
