package browser

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleWebhooks drives the console's Webhooks page as a configuration admin: two webhooks,
// one healthy and one whose receiver answered 410 (disabled, its delivery dead-lettered); the
// recent attempts with status, latency and response excerpt; a test send; enable + replay of the
// dead letter once its receiver is back; the signing secret shown and rotated.
func TestConsoleWebhooks(t *testing.T) {
	s := startServer(t, nil)
	admin := s.mint("demo", allRoles)
	var goneStatus atomic.Int64
	goneStatus.Store(http.StatusGone)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rx := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/gone") {
			w.WriteHeader(int(goneStatus.Load()))
			fmt.Fprint(w, "receiver is gone")
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"received":true}`)
	})}
	go func() { _ = rx.Serve(ln) }()
	t.Cleanup(func() { _ = rx.Close() })
	base := "http://" + ln.Addr().String()
	hooks := fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{`+
		`"crm":{"id":"crm","name":"CRM","url":"%s/crm","rateLimit":50,"events":[{"namespace":"shop","name":"order-placed"}]},`+
		`"legacy":{"id":"legacy","name":"Legacy ERP","url":"%s/gone","ordered":true,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, base, base)
	if st, b := s.do("PATCH", configPath, admin, hooks); st != 200 {
		t.Fatalf("configure webhooks: %d %s", st, b)
	}
	s.publish(admin, 1, "Ada")

	p := newPage(t, 45*time.Second)
	p.run("open the console", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.url+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#mint-form")))
	p.waitJS("page ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	p.run("mint", chromedp.Click(chromedp.CSS("#mint-submit")))
	p.waitJS("signed in", `!document.getElementById("nav-webhooks").hidden`, 5*time.Second)
	p.js("webhooks", `location.hash = "#webhooks"`)

	// The endpoints with their state: crm healthy, legacy disabled by the 410.
	p.waitJS("legacy disabled", `(() => { const s = document.querySelector('#wh-list article[data-webhook="legacy"] [data-state]'); return s && s.dataset.state === "disabled"; })()`, 10*time.Second)
	crm := eval[string](p, `document.querySelector('#wh-list article[data-webhook="crm"]').innerText`)
	if !strings.Contains(crm, "healthy") || !strings.Contains(crm, "≤ 50/s") || !strings.Contains(crm, base+"/crm") {
		t.Errorf("crm card %q", crm)
	}
	if legacy := eval[string](p, `document.querySelector('#wh-list article[data-webhook="legacy"]').innerText`); !strings.Contains(legacy, "ordered") {
		t.Errorf("legacy card %q", legacy)
	}

	// crm's attempts: status 200, a latency and the response excerpt; a test send adds one.
	p.run("crm details", chromedp.Click(chromedp.CSS(`#wh-list article[data-webhook="crm"] .wh-open`)))
	p.waitJS("crm attempt", `document.querySelectorAll('#wh-attempts tr[data-outcome="success"]').length === 1`, 5*time.Second)
	row := eval[string](p, `document.querySelector("#wh-attempts tr").innerText`)
	if !strings.Contains(row, "200") || !strings.Contains(row, " ms") || !strings.Contains(row, `{"received":true}`) {
		t.Errorf("attempt row %q", row)
	}
	p.run("send test", chromedp.Click(chromedp.CSS(`#wh-list article[data-webhook="crm"] .wh-test`)))
	p.waitJS("test attempt", `document.querySelectorAll('#wh-attempts tr[data-outcome="success"]').length === 2`, 5*time.Second)

	// The signing secret (configuration admins only): shown, then rotated.
	p.run("show secret", chromedp.Click(chromedp.CSS("#wh-secret-show")))
	p.waitJS("secret shown", `document.getElementById("wh-secret-value").textContent.startsWith("whsec_")`, 5*time.Second)
	first := eval[string](p, `document.getElementById("wh-secret-value").textContent`)
	p.run("rotate", chromedp.Click(chromedp.CSS("#wh-secret-rotate")))
	p.waitJS("rotated", `document.getElementById("wh-secret-note").textContent.startsWith("rotated")`, 5*time.Second)
	if second := eval[string](p, `document.getElementById("wh-secret-value").textContent`); second == first || !strings.HasPrefix(second, "whsec_") {
		t.Error("rotation did not show a new secret")
	}

	// legacy: its dead letter; enable it, the receiver is back, replay: delivered.
	p.run("legacy details", chromedp.Click(chromedp.CSS(`#wh-list article[data-webhook="legacy"] .wh-open`)))
	p.waitJS("dead letter listed", `document.querySelectorAll("#wh-dead tr").length === 1`, 5*time.Second)
	dead := eval[string](p, `document.querySelector("#wh-dead tr").innerText`)
	if !strings.Contains(dead, "shop:order-placed") || !strings.Contains(dead, "410") {
		t.Errorf("dead letter row %q", dead)
	}
	if shown := eval[string](p, `document.getElementById("wh-secret-value").textContent + document.getElementById("wh-secret-note").textContent`); shown != "–" {
		t.Errorf("crm's secret still shown after selecting legacy: %q", short(shown))
	}
	p.screenshot("webhooks.png")
	goneStatus.Store(http.StatusOK)
	p.run("enable", chromedp.Click(chromedp.CSS(`#wh-list article[data-webhook="legacy"] .wh-enable`)))
	p.waitJS("legacy healthy", `(() => { const s = document.querySelector('#wh-list article[data-webhook="legacy"] [data-state]'); return s && s.dataset.state === "healthy"; })()`, 5*time.Second)
	p.run("legacy details again", chromedp.Click(chromedp.CSS(`#wh-list article[data-webhook="legacy"] .wh-open`)))
	p.waitJS("dead letter listed again", `document.querySelectorAll("#wh-dead tr .wh-replay").length === 1`, 5*time.Second)
	// Clicked in the page: the dead-letter table is re-rendered by each refresh, so a node found
	// by one command may be gone by the next (chromedp: "Could not find node with given id").
	p.js("replay", `document.querySelector("#wh-dead tr .wh-replay").click()`)
	p.waitJS("replayed", `document.getElementById("wh-action").textContent === "replayed 1"`, 5*time.Second)
	p.waitJS("delivered after the replay", `(() => { document.getElementById("wh-refresh").click(); return document.querySelectorAll('#wh-attempts tr[data-outcome="success"]').length === 1 && document.querySelectorAll("#wh-dead tr").length === 0; })()`, 10*time.Second)

	// Phone width: no horizontal overflow.
	p.run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	w := eval[struct{ Scroll, Inner int }](p, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
	if w.Scroll > w.Inner {
		t.Errorf("webhooks at phone width: content %dpx wide in a %dpx viewport", w.Scroll, w.Inner)
	}
}

// A user without the configuration-admin role gets no Webhooks page.
func TestConsoleWebhooksAdminsOnly(t *testing.T) {
	s := startServer(t, nil)
	p := newPage(t, 30*time.Second)
	p.run("open", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.url+"/console"), chromedp.WaitVisible(chromedp.CSS("#mint-form")))
	p.waitJS("page ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	p.js("no admin role", `document.querySelector('#mint-form input[value="urn:ads:platform:configuration-service:configuration-admin"]').checked = false`)
	p.run("mint", chromedp.Click(chromedp.CSS("#mint-submit")))
	p.waitJS("signed in", `!document.getElementById("nav").hidden`, 5*time.Second)
	if !eval[bool](p, `document.getElementById("nav-webhooks").hidden`) {
		t.Error("the Webhooks link is shown to a user who is not a configuration admin")
	}
	p.js("try the page", `location.hash = "#webhooks"`)
	p.waitJS("sent back to streams", `!document.getElementById("view-streams").hidden && document.getElementById("view-webhooks").hidden`, 5*time.Second)
}
