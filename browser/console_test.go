package browser

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pushgate/pushgate/engine"
)

// TestConsole drives the web console like a newcomer: sign in with a development token minted
// by the page, list the streams, subscribe, publish from the page, see the projected event; then
// the editor with the API's validation error, the server-side projection preview, the status
// view; then the same views at phone width without horizontal overflow. It writes a screenshot
// of each main view.
func TestConsole(t *testing.T) {
	s := startServer(t, nil)
	admin := s.mint("demo", allRoles)
	s.configureOrders(admin)
	p := newPage(t, 45*time.Second)

	p.run("open the console", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.url+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#mint-form")))
	p.waitJS("page ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	p.screenshot("signin.png")

	// Sign in: the development form mints a demo token with the three README roles.
	p.run("mint", chromedp.Click(chromedp.CSS("#mint-submit")))
	p.waitJS("streams listed", `document.querySelector('#streams-list article[data-stream="orders"]')`, 5*time.Second)
	who := eval[string](p, `document.getElementById("who-text").textContent`)
	if !strings.Contains(who, "realm demo") || !strings.Contains(who, "3 roles") {
		t.Errorf("signed-in header %q", who)
	}
	entry := eval[string](p, `document.querySelector('#streams-list article[data-stream="orders"] table').innerText`)
	if !strings.Contains(entry, "shop:order-placed") || !strings.Contains(entry, `"orderId":"payload.id"`) {
		t.Errorf("orders card shows %q", entry)
	}
	p.screenshot("streams.png")

	// Subscribe (EventSource with ?token=) and publish from the live view's form.
	p.run("subscribe", chromedp.Click(chromedp.CSS(`#streams-list article[data-stream="orders"] button[type="submit"]`)))
	p.waitJS("stream open", `document.getElementById("live-state").textContent === "open"`, 5*time.Second)
	p.run("publish from the page", chromedp.Click(chromedp.CSS("#live-publish summary")), chromedp.Click(chromedp.CSS("#live-publish-btn")))
	p.waitJS("event shown", `document.querySelectorAll('#live-events li[data-type="shop:order-placed"]').length === 1`, 5*time.Second)
	shown := eval[string](p, `document.querySelector("#live-events li pre").textContent`)
	var item map[string]any
	if err := json.Unmarshal([]byte(shown), &item); err != nil {
		t.Fatalf("event JSON %q: %v", shown, err)
	}
	// The projection: orderId from payload.id, no payload (the page's sample has no customer).
	if item["orderId"] != float64(42) || item["payload"] != nil || item["namespace"] != "shop" || item["tenantId"] == nil {
		t.Errorf("projected item %v", item)
	}
	if !strings.Contains(shown, "\n  \"orderId\": 42") {
		t.Errorf("not pretty-printed: %q", shown)
	}
	lastID := s.publish(admin, 43, "Ada")
	s.publish(admin, 44, "Grace")
	p.waitJS("three events", `document.querySelectorAll("#live-events li").length === 3`, 5*time.Second)
	top := eval[struct{ ID, Text string }](p, `(() => { const li = document.querySelector("#live-events li"); return {ID: li.dataset.id, Text: li.textContent}; })()`)
	if !strings.Contains(top.Text, `"customer": "Grace"`) || strings.Contains(top.Text, "not projected") {
		t.Errorf("newest event %q", top.Text)
	}
	last := eval[string](p, `document.getElementById("live-last-id").textContent`)
	if last != top.ID || last == lastID || !strings.Contains(last, "-") {
		t.Errorf("Last-Event-ID shown %q, newest id %q", last, top.ID)
	}
	p.waitJS("rate shown", `document.getElementById("live-rate").textContent !== "0" && document.querySelector("#live-plot polyline")`, 3*time.Second)
	p.js("fold the publish form", `document.getElementById("live-publish").open = false`)
	p.screenshot("live.png")

	// Pause holds new events; resume shows them.
	p.run("pause", chromedp.Click(chromedp.CSS("#live-pause")))
	s.publish(admin, 45, "Linus")
	p.waitJS("held while paused", `document.getElementById("live-pause").textContent === "Resume (1)"`, 5*time.Second)
	p.run("resume", chromedp.Click(chromedp.CSS("#live-pause")))
	p.waitJS("shown after resume", `document.querySelectorAll("#live-events li").length === 4`, 2*time.Second)

	// Editor: an invalid map value is refused by the API and shown next to the field.
	p.js("editor", `location.hash = "#editor"`)
	p.waitJS("orders loaded", `document.getElementById("editor-select").value === "orders" && document.getElementById("editor-json").value.includes('"payload.id"')`, 5*time.Second)
	setField(p, "editor-json", strings.Replace(ordersStream, `"payload.id"`, `5`, 1))
	p.run("save invalid", chromedp.Click(chromedp.CSS("#editor-save")))
	p.waitJS("validation error shown", `document.getElementById("editor-error").textContent.includes("must be a string path")`, 5*time.Second)
	invalid := eval[bool](p, `document.getElementById("editor-json").getAttribute("aria-invalid") === "true"`)
	if !invalid {
		t.Error("the definition field is not marked invalid")
	}
	p.screenshot("editor.png")

	// Preview with the server's projection, then save a valid change and see it on the streams page.
	// The change also drops the description and a subscriber role: the saved entry must be
	// exactly the edited one, not merged into the stored one.
	withRole := strings.Replace(ordersStream, `"subscriberRoles":[]`, `"subscriberRoles":["urn:ads:platform:x:reader"]`, 1)
	if st, b := s.do("PATCH", configPath, admin, `{"operation":"UPDATE","update":{"orders":`+withRole+`}}`); st != 200 {
		t.Fatalf("add a role: %d %s", st, b)
	}
	changed := strings.Replace(ordersStream, `"customer":"payload.customer.name"`, `"note":"payload.note"`, 1)
	changed = strings.Replace(changed, `"description":"Orders placed in the shop",`, ``, 1)
	setField(p, "editor-json", changed)
	p.run("preview", chromedp.Click(chromedp.CSS("#editor-preview")))
	p.waitJS("preview shown", `document.getElementById("editor-preview-out").textContent.includes('"note": "sent from the console"')`, 5*time.Second)
	p.run("save valid", chromedp.Click(chromedp.CSS("#editor-save")))
	p.waitJS("saved", `document.getElementById("editor-saved").textContent.startsWith("saved, revision")`, 5*time.Second)
	st, b := s.do("GET", configPath+"/latest", admin, "")
	var stored map[string]json.RawMessage
	_ = json.Unmarshal(b, &stored)
	var want, gotEntry any
	_ = json.Unmarshal([]byte(changed), &want)
	_ = json.Unmarshal(stored["orders"], &gotEntry)
	if st != 200 || !reflect.DeepEqual(want, gotEntry) {
		t.Errorf("stored entry %d %s, want exactly %s", st, stored["orders"], changed)
	}

	// Status: the same counters as /metrics; one SSE subscription (this page), deliveries/s.
	p.js("status", `location.hash = "#status"`)
	p.waitJS("status shown", `document.getElementById("st-subscriptions").textContent === "1" && document.getElementById("st-sse").textContent === "1"`, 5*time.Second)
	for i := 0; i < 5; i++ {
		s.publish(admin, 100+i, "load")
	}
	p.waitJS("deliveries/s shown", `!["0", "–"].includes(document.getElementById("st-deliveries-rate").textContent)`, 8*time.Second)
	p.screenshot("status.png")

	// Phone width: every view fits without horizontal scrolling.
	p.run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, v := range []string{"streams", "live", "editor", "status"} {
		p.js("view "+v, `location.hash = "#`+v+`"`)
		p.waitJS(v+" shown", `!document.getElementById("view-`+v+`").hidden`, 2*time.Second)
		w := eval[struct{ Scroll, Inner int }](p, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
		if w.Scroll > w.Inner {
			t.Errorf("%s at phone width: content %dpx wide in a %dpx viewport", v, w.Scroll, w.Inner)
		}
		if v == "live" {
			p.screenshot("live-phone.png")
		}
	}
}

// setField sets a textarea's value as typing would (an input event follows); JSON is indented.
func setField(p *page, id, value string) {
	p.t.Helper()
	var ind bytes.Buffer
	if json.Indent(&ind, []byte(value), "", "  ") == nil {
		value = ind.String()
	}
	b, _ := json.Marshal(value)
	p.js("set "+id, `(() => { const f = document.getElementById("`+id+`"); f.value = `+string(b)+`; f.dispatchEvent(new Event("input")); })()`)
}

// TestConsoleModes: in production mode the console is off unless --console is set, and with it
// the page offers only "paste a token" (the mint route is 404).
func TestConsoleModes(t *testing.T) {
	prod := func(console bool) func(*engine.Config) {
		return func(c *engine.Config) { c.OIDCBase, c.Console = "http://127.0.0.1:9/auth", console }
	}
	off := startServer(t, prod(false))
	if st, _ := off.do("GET", "/console", "", ""); st != 404 {
		t.Errorf("production without --console: /console %d", st)
	}
	on := startServer(t, prod(true))
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/console", "", 200},
		{"GET", "/console/app.js", "", 200},
		{"GET", "/console/api/status", "", 200},
		{"POST", "/console/api/token", `{"core":true}`, 404},
		{"POST", "/console/api/preview", `{}`, 401},
	} {
		if st, b := on.do(c.method, c.path, "", c.body); st != c.status {
			t.Errorf("production --console: %s %s %d %s, want %d", c.method, c.path, st, b, c.status)
		}
	}
	p := newPage(t, 15*time.Second)
	p.run("open", chromedp.Navigate(on.url+"/console"))
	p.waitJS("ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	state := eval[struct{ Mint, Paste bool }](p, `({Mint: !document.getElementById("mint-form").hidden, Paste: !document.getElementById("paste-form").hidden})`)
	if state.Mint || !state.Paste {
		t.Errorf("production page: mint form shown %v, paste form shown %v", state.Mint, state.Paste)
	}
	// A pasted token the server cannot verify is refused with the server's reason.
	setField(p, "paste-token", s3Token())
	p.run("paste", chromedp.Click(chromedp.CSS("#paste-submit")))
	p.waitJS("refused", `document.getElementById("paste-error").textContent.includes("refused")`, 5*time.Second)
}

// s3Token is a syntactically valid, unsigned JWT (the server must refuse it).
func s3Token() string {
	return "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkvYXV0aC9yZWFsbXMvZGVtbyIsInN1YiI6IngifQ.x"
}

// TestConsoleQuickStart follows the README quick start's first step on a fresh server: mint and
// sign in, Editor → New stream → Save (the quick start's orders stream), Streams → Subscribe,
// Publish a test event, and the event appears with its projection.
func TestConsoleQuickStart(t *testing.T) {
	s := startServer(t, nil)
	p := newPage(t, 30*time.Second)
	p.run("open", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.url+"/console"))
	p.waitJS("ready", `document.body.dataset.ready === "true"`, 5*time.Second)
	p.run("mint", chromedp.Click(chromedp.CSS("#mint-submit")))
	p.waitJS("signed in", `!document.getElementById("nav-editor").hidden && document.querySelector("#streams-list article")`, 5*time.Second)
	if eval[bool](p, `!!document.querySelector('#streams-list article[data-stream="orders"]')`) {
		t.Fatal("orders exists before the quick start created it")
	}
	p.js("editor", `location.hash = "#editor"`)
	p.waitJS("editor loaded", `document.getElementById("editor-scope").textContent.includes("tenant demo")`, 5*time.Second)
	p.run("new stream and save", chromedp.Click(chromedp.CSS("#editor-new")), chromedp.Click(chromedp.CSS("#editor-save")))
	p.waitJS("saved", `document.getElementById("editor-saved").textContent.startsWith("saved")`, 5*time.Second)
	p.js("streams", `location.hash = "#streams"`)
	p.waitJS("orders listed", `document.querySelector('#streams-list article[data-stream="orders"]')`, 5*time.Second)
	p.run("subscribe", chromedp.Click(chromedp.CSS(`#streams-list article[data-stream="orders"] button[type="submit"]`)))
	p.waitJS("open", `document.getElementById("live-state").textContent === "open"`, 5*time.Second)
	p.run("publish", chromedp.Click(chromedp.CSS("#live-publish summary")), chromedp.Click(chromedp.CSS("#live-publish-btn")))
	p.waitJS("event shown", `document.querySelector('#live-events li[data-type="shop:order-placed"]')`, 5*time.Second)
	var item map[string]any
	if err := json.Unmarshal([]byte(eval[string](p, `document.querySelector("#live-events li pre").textContent`)), &item); err != nil {
		t.Fatal(err)
	}
	if item["orderId"] != float64(42) || item["payload"] != nil {
		t.Errorf("projected item %v", item)
	}

	// Subscribe with criteria: only the matching event is shown.
	admin := s.mint("demo", allRoles)
	subscribe := func(criteria string) {
		p.js("streams", `location.hash = "#streams"`)
		p.waitJS("orders card", `document.querySelector('#streams-list article[data-stream="orders"] input')`, 5*time.Second)
		b, _ := json.Marshal(criteria)
		p.js("criteria", `document.querySelector('#streams-list article[data-stream="orders"] input').value = `+string(b))
		p.run("subscribe", chromedp.Click(chromedp.CSS(`#streams-list article[data-stream="orders"] button[type="submit"]`)))
	}
	subscribe(`{"context":{"region":"west"}}`)
	p.waitJS("open with criteria", `document.getElementById("live-state").textContent === "open" && document.getElementById("live-stream").textContent.includes("west")`, 5*time.Second)
	for _, region := range []string{"east", "west"} {
		if st, b := s.do("POST", "/event/v1/events", admin, `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","context":{"region":"`+region+`"},"payload":{"id":"`+region+`"}}`); st != 200 {
			t.Fatalf("publish: %d %s", st, b)
		}
	}
	p.waitJS("the matching event", `document.querySelectorAll("#live-events li").length === 1`, 5*time.Second)
	if shown := eval[string](p, `document.querySelector("#live-events li pre").textContent`); !strings.Contains(shown, `"orderId": "west"`) {
		t.Errorf("with criteria the page shows %s", shown)
	}

	// A subscription the server refuses (criteria it cannot compile) shows the server's reason.
	subscribe(`{"correlationId":5}`)
	p.waitJS("refusal shown", `document.getElementById("live-notices").textContent.includes("Subscription refused:")`, 8*time.Second)
	if n := eval[string](p, `document.getElementById("live-notices").textContent`); !strings.Contains(n, "(400)") {
		t.Errorf("refusal notice %q", n)
	}

	// The server's close reason is shown: the stream is deleted under the subscription.
	subscribe(``)
	p.waitJS("open again", `document.getElementById("live-state").textContent === "open"`, 5*time.Second)
	if st, b := s.do("PATCH", configPath, admin, `{"operation":"DELETE","property":"orders"}`); st != 200 {
		t.Fatalf("delete: %d %s", st, b)
	}
	p.waitJS("close reason shown", `document.getElementById("live-notices").textContent.includes("The server closed the stream: stream-deleted.")`, 5*time.Second)
	p.waitJS("closed", `document.getElementById("live-state").textContent === "closed: stream-deleted"`, 2*time.Second)
}
