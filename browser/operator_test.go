package browser

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pushgate/pushgate/engine/devissuer"
)

const roleTenantAdmin = "urn:ads:platform:tenant-service:tenant-admin"

// TestConsoleOperatorPages: a tenant admin signs in by pasting a token, looks an event up on the
// Event page (its receipt, trace id and whether a subject got it), lists who is listening on the
// Connections page and disconnects a subject, whose stream is told disconnected-by-admin. It
// writes docs/console/event.png and connections.png.
func TestConsoleOperatorPages(t *testing.T) {
	s := startServer(t, nil)
	admin := s.mint("demo", allRoles+","+roleTenantAdmin)
	s.configureOrders(admin)
	ada, err := s.iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener"}, Subject: "ada", Name: "Ada Lovelace", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/stream/v1/streams/orders", nil)
	req.Header.Set("Authorization", "Bearer "+ada)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ada's stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	st, body := s.do("POST", "/event/v1/events", admin, `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z",`+
		`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","payload":{"id":7,"customer":{"name":"Ada"}}}`)
	if st != 200 {
		t.Fatalf("publish: %d %s", st, body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(string(body), `{"id":"`), `"}`)

	p := newPage(t, 45*time.Second)
	p.run("open the console", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.url+"/console"))
	p.waitJS("page ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	setField(p, "paste-token", admin)
	p.run("sign in", chromedp.Click(chromedp.CSS("#paste-submit")))
	p.waitJS("operator views offered", `!document.getElementById("nav-connections").hidden && !document.getElementById("nav-event").hidden`, 5*time.Second)

	p.js("event view", `location.hash = "#event"`)
	p.js("event id", `(() => { document.getElementById("event-id").value = "`+id+`"; document.getElementById("event-sub").value = "ada"; })()`)
	p.run("look up", chromedp.Click(chromedp.CSS("#event-load")))
	p.waitJS("receipt shown", `!document.getElementById("event-out").hidden && document.getElementById("ev-delivered").textContent === "1"`, 5*time.Second)
	got := eval[struct{ Trace, Streams, Subject string }](p, `({Trace: document.getElementById("ev-trace").textContent, Streams: document.getElementById("ev-streams").textContent, Subject: document.getElementById("ev-subject").dataset.received})`)
	if got.Trace != "4bf92f3577b34da6a3ce929d0e0e4736" || got.Streams != "orders" || got.Subject != "true" {
		t.Errorf("event page shows %+v", got)
	}
	p.screenshot("event.png")

	p.js("connections view", `location.hash = "#connections"`)
	p.waitJS("ada listed", `document.querySelector('#conn-rows tr[data-sub="ada"]')`, 5*time.Second)
	row := eval[string](p, `document.querySelector('#conn-rows tr[data-sub="ada"]').innerText`)
	if !strings.Contains(row, "orders") || !strings.Contains(row, "sse") || !strings.Contains(row, "127.0.0.1:") {
		t.Errorf("ada's row: %q", row)
	}
	p.js("filter", `document.getElementById("conn-sub").value = "ada"`)
	p.run("filter", chromedp.Click(chromedp.CSS("#conn-load")))
	p.waitJS("filtered", `document.querySelectorAll("#conn-rows tr").length === 1`, 5*time.Second)
	p.screenshot("connections.png")

	p.run("disconnect ada", chromedp.Click(chromedp.CSS(`#conn-rows tr[data-sub="ada"] button`)))
	p.waitJS("disconnected", `document.getElementById("conn-result").textContent.startsWith("Disconnected ada")`, 5*time.Second)
	deadline := time.After(5 * time.Second)
	for closed := false; !closed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("ada's stream ended without a close event")
			}
			closed = l == `data: {"reason":"disconnected-by-admin"}`
		case <-deadline:
			t.Fatal("ada's stream was not told disconnected-by-admin")
		}
	}
	p.waitJS("list refreshed", `document.querySelectorAll("#conn-rows tr").length === 0 && !document.getElementById("conn-empty").hidden`, 5*time.Second)

	// Phone width: both views fit without horizontal scrolling (the tables scroll in their card).
	p.run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, v := range []string{"connections", "event"} {
		p.js("view "+v, `location.hash = "#`+v+`"`)
		p.waitJS(v+" shown", `!document.getElementById("view-`+v+`").hidden`, 2*time.Second)
		w := eval[struct{ Scroll, Inner int }](p, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
		if w.Scroll > w.Inner {
			t.Errorf("%s at phone width: content %dpx wide in a %dpx viewport", v, w.Scroll, w.Inner)
		}
	}
}
