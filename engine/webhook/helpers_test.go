package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/journal"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

const tenantA = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"

// received is one request a receiver got.
type received struct {
	id, ts, sig string
	body        []byte
	at          time.Time
}

// receiver is a real HTTP server on loopback whose answer can be changed while it runs.
type receiver struct {
	t      *testing.T
	url    string
	status atomic.Int64 // answered status; 0 = hang until the request is cancelled
	mu     sync.Mutex
	got    []received
	hits   atomic.Int64
	srv    *http.Server
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	return newReceiverOn(t, "127.0.0.1:0", status)
}

// newReceiverOn is newReceiver listening on addr.
func newReceiverOn(t *testing.T, addr string, status int) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, url: "http://" + ln.Addr().String() + "/hook"}
	r.status.Store(int64(status))
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// The answer is chosen before the hit is counted: a test that waits for a hit and then
		// changes the status must not change the answer to the request it waited for. The hit is
		// counted after the request is recorded: a test that saw the hit reads the request.
		st := int(r.status.Load())
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), b, time.Now()})
		r.mu.Unlock()
		r.hits.Add(1)
		if st == 0 {
			<-req.Context().Done()
			return
		}
		w.WriteHeader(st)
		fmt.Fprint(w, "answer ", st)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// docs is a mutable configuration the service reads through Config.Configs.
type docs struct {
	mu      sync.Mutex
	core    string
	tenants map[string]string
}

func (d *docs) set(tenant, doc string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tenants == nil {
		d.tenants = map[string]string{}
	}
	d.tenants[tenant] = doc
}

func (d *docs) get() ([]byte, map[string][]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[string][]byte{}
	for k, v := range d.tenants {
		m[k] = []byte(v)
	}
	return []byte(d.core), m
}

// env is a service on a real store, a real bus recording what it emits, and loopback allowed.
type env struct {
	t     *testing.T
	dir   string
	st    *store.Store
	docs  *docs
	bus   *source.Bus
	svc   *Service
	mu    sync.Mutex
	emits []*source.Event
	seq   atomic.Int64
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), docs: &docs{}}
	e.bus = source.NewBus(source.BusConfig{})
	e.bus.Subscribe(func(ev *source.Event) {
		e.mu.Lock()
		e.emits = append(e.emits, ev)
		e.mu.Unlock()
	})
	t.Cleanup(e.bus.Close)
	e.open(mod)
	return e
}

func (e *env) open(mod func(*Config)) {
	e.t.Helper()
	st, err := store.Open(e.dir, store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = st
	cfg := Config{Store: st, Configs: e.docs.get, Publisher: e.bus, Journal: filepath.Join(e.dir, "webhooks.journal"), JournalSize: 1 << 20, Settings: Settings{Guard: Guard{AllowLoopback: true},
		Schedule: []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, BreakerCooldown: 50 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	svc.Start()
	e.svc = svc
	e.t.Cleanup(e.close)
}

// noneInFlight reports whether every attempt started has finished (a receiver counts a request
// before it answers: its hit alone does not mean the attempt's outcome is recorded).
func (e *env) noneInFlight() bool {
	e.svc.mu.Lock()
	defer e.svc.mu.Unlock()
	for _, d := range e.svc.pending {
		if d.inflight {
			return false
		}
	}
	return true
}

func (e *env) close() {
	if e.svc != nil {
		e.svc.Close()
		_ = e.st.Close()
		e.svc = nil
	}
}

// hookDoc is a tenant document with one generic webhook per (key, url) listening to demo:ping.
func hookDoc(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, fmt.Sprintf(`%q:{"id":%q,"name":"Hook %s","url":%q,"events":[{"namespace":"demo","name":"ping"}]}`, pairs[i], pairs[i], pairs[i], pairs[i+1]))
	}
	return `{"webhooks":{` + strings.Join(parts, ",") + `}}`
}

func (e *env) configure(tenant, doc string) {
	e.t.Helper()
	e.docs.set(tenant, doc)
	if err := e.svc.Reload(); err != nil {
		e.t.Fatal(err)
	}
}

// publish offers one demo:ping event of tenant to the service (as the hub's subscriber would).
func (e *env) publish(tenant string) *source.Event {
	n := e.seq.Add(1)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	ev := &source.Event{ID: fmt.Sprintf("1700000000-%d", n), TenantID: tenant, Namespace: "demo", Name: "ping", Timestamp: ts,
		CorrelationID: fmt.Sprint("c-", n)}
	ev.JSON = source.AppendEventJSON(nil, tenant, "demo", "ping", ts, ev.CorrelationID, []byte(`{"k":"v"}`), []byte(fmt.Sprintf(`{"n":%d}`, n)))
	e.svc.Observe(ev)
	return ev
}

func (e *env) emitted(name string) []*source.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*source.Event
	for _, ev := range e.emits {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) secret(tenant, key string) SecretView {
	e.t.Helper()
	v, err := e.svc.Secret(tenant, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.(SecretView)
}

// verify checks one request's signatures independently of sign(): every secret in secrets must
// have produced one of the header's v1 signatures.
func verify(t *testing.T, r received, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_"))
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		io.WriteString(m, r.id+"."+r.ts+"."+string(r.body))
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		if !strings.Contains(" "+r.sig+" ", " "+want+" ") {
			t.Fatalf("delivery %s: signature %q lacks %q", r.id, r.sig, want)
		}
	}
}

// storedDeliveries lists the ids of the deliveries a restart would load: those with a record of
// their own and those of event records without one (and neither dead nor marked delivered).
func storedDeliveries(t *testing.T, st *store.Store) []string {
	t.Helper()
	own := map[string]bool{}
	var ids []string
	err := st.EachWebhook(store.WebhookPending, func(_ string, v []byte) error {
		var d delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return err
		}
		own[d.ID] = true
		ids = append(ids, d.ID)
		return nil
	})
	marks := map[string][]byte{}
	if err == nil {
		err = st.EachWebhook(store.WebhookEvents, func(k string, v []byte) error {
			if len(k) > 8 {
				marks[k] = append([]byte(nil), v...)
			}
			return nil
		})
	}
	if err == nil {
		err = st.EachWebhook(store.WebhookEvents, func(k string, v []byte) error {
			if len(k) > 8 {
				return nil
			}
			var r eventRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			mark := marks[markKey(k)]
			for n, e := range r.Deliveries {
				delivered := n/8 < len(mark) && mark[n/8]&(1<<(n%8)) != 0
				if dead, _ := st.GetWebhook(store.WebhookDead, e.ID); !own[e.ID] && dead == nil && !delivered {
					ids = append(ids, e.ID)
				}
			}
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// serveLoopback serves h on a loopback port until the test ends; it returns "host:port".
func serveLoopback(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// journaledEventRecords returns the event records (and marks) in e's journal that the store has not
// applied and that no later removal in it undoes (what a restart would put).
func journaledEventRecords(t *testing.T, e *env) []store.WebhookPut {
	t.Helper()
	if e.svc.cfg.Journal == "" {
		return nil
	}
	j, err := journal.Open(e.svc.cfg.Journal, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	at, err := e.st.GetWebhook(store.WebhookJournal, journalKey)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := j.Records(decodePos(at))
	if err != nil {
		t.Fatal(err)
	}
	u := newUnapplied()
	for _, r := range recs {
		ops, err := decodeOps(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		u.fold(ops, r.End)
	}
	var puts []store.WebhookPut
	for k, v := range u.live {
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: k, Value: v})
	}
	return puts
}

// track tracks ev as the ingest does and returns a wait for its done (nil when ev is not tracked).
func (e *env) track(ev *source.Event) func() error {
	ch := make(chan error, 1)
	if tracked, err := e.svc.Track(ev, func(err error) { ch <- err }); err != nil {
		e.t.Fatal(err)
	} else if !tracked {
		return nil
	}
	return func() error {
		select {
		case err := <-ch:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("test: done was not called within 30 s")
		}
	}
}

// observeDurably offers ev and waits, as the ingest does, until its deliveries are durable.
func (e *env) observeDurably(ev *source.Event) {
	e.t.Helper()
	wait := e.track(ev)
	e.svc.Observe(ev)
	if err := wait(); err != nil {
		e.t.Fatal(err)
	}
}

// pendingCount is how many deliveries the service holds (loaded, queued or in flight).
func (e *env) pendingCount() int {
	e.svc.mu.Lock()
	defer e.svc.mu.Unlock()
	return len(e.svc.pending)
}

// restartFromJournal starts a service on a copy of e's journal as it is now and an empty store:
// what a restart after kill -9 finds when the store never got the journal's records.
func (e *env) restartFromJournal() *env {
	e.t.Helper()
	crashed, err := os.ReadFile(e.svc.cfg.Journal)
	if err != nil {
		e.t.Fatal(err)
	}
	after := &env{t: e.t, dir: e.t.TempDir(), docs: e.docs, bus: e.bus}
	if err := os.WriteFile(filepath.Join(after.dir, "webhooks.journal"), crashed, 0o600); err != nil {
		e.t.Fatal(err)
	}
	after.open(nil)
	return after
}
