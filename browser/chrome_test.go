package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// One chromium for the whole test binary (a launch costs about a second); each test opens its
// own tab with a fresh browser context (no shared storage or cache).
var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	profileDir  string // chromium's --user-data-dir, fresh per test binary
)

// TestMain closes the shared browser after the tests and removes its profile and, unless
// PUSHGATE_SCREENSHOTS chose a directory, the screenshots.
func TestMain(m *testing.M) {
	code := m.Run()
	if browserCtx != nil {
		_ = chromedp.Cancel(browserCtx)
	}
	if profileDir != "" {
		_ = os.RemoveAll(profileDir)
	}
	if shotDir != "" {
		_ = os.RemoveAll(shotDir)
	}
	os.Exit(code)
}

// chromiumPath finds Debian's chromium (make test installs it); a missing browser fails the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH: `make test` installs it (apt-get install -y chromium)")
	return ""
}

func startBrowser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pushgate-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		profileDir = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chromiumPath(t)),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 800),
			chromedp.WSURLReadTimeout(20 * time.Second),
			// Without these chromium waits on the network for updates and sync on a closed machine.
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("disable-default-apps", true),
			chromedp.Flag("metrics-recording-only", true),
			chromedp.Flag("password-store", "basic"),
		}
		alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, _ := chromedp.NewContext(alloc)
		// The first Do launches the browser and ties its life to ctx, so it gets no timeout;
		// the start is bounded by the allocator's wait for the DevTools URL.
		if err := chromedp.Do(ctx); err != nil {
			browserErr = fmt.Errorf("launch chromium: %w", err)
			return
		}
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// page is one tab. Every uncaught exception, console.error/console.warn call and browser log
// error (a CSP violation, a refused script, …) is recorded; the test fails on any of them at
// the end unless allowed matches it. HTTP error answers the page asked for (a 400 from a
// validation) are "network" log entries: answers, not page errors.
type page struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	errs    []string
	allowed func(msg string) bool
}

// newPage opens a tab in a fresh browser context, bounded by timeout.
func newPage(t *testing.T, timeout time.Duration) *page {
	t.Helper()
	b := startBrowser(t)
	tab, cancelTab := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, timeout)
	p := &page{t: t, ctx: ctx}
	messages := chromedp.Console(ctx) // creates the tab; subscribed from its start
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.Source == "network":
			case m.IsException(), m.Type == chromedp.ConsoleError, m.Type == chromedp.ConsoleWarning && m.Source == "":
				p.record(fmt.Sprintf("%s %s %s", m.String(), m.Source, m.URL))
			}
		}
	}()
	t.Cleanup(func() {
		p.checkErrors()
		cancel()
		cancelTab()
	})
	return p
}

func (p *page) record(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, msg)
}

func (p *page) checkErrors() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		if p.allowed != nil && p.allowed(e) {
			continue
		}
		p.t.Errorf("browser reported: %s", e)
	}
}

// run runs chromedp actions in order and fails the test with what on error.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v (browser errors so far: %v)", what, err, p.errorsSoFar())
	}
}

// js runs a JavaScript expression without reading its result.
func (p *page) js(what, expr string) {
	p.t.Helper()
	p.run(what, chromedp.Evaluate[chromedp.Void]("void ("+expr+")"))
}

func (p *page) errorsSoFar() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// eval evaluates a JavaScript expression (promises awaited) into a T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v (browser errors so far: %v)", short(expr), err, p.errorsSoFar())
	}
	return v
}

// waitJS polls a JavaScript boolean expression until it is true or the deadline passes.
func (p *page) waitJS(what, expr string, within time.Duration) {
	p.t.Helper()
	if waitfor.Bool(within, func() bool {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err != nil {
			p.t.Fatalf("%s: %v", what, err)
		}
		return ok
	}) != nil {
		state, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify(window.got || document.body.innerText.slice(0, 2000))`))
		p.t.Fatalf("%s: not true within %v: %s\npage: %s\nbrowser errors: %v", what, within, expr, state, p.errorsSoFar())
	}
}

// screenshot captures the viewport as PNG into the screenshot directory: $PUSHGATE_SCREENSHOTS
// (make screenshots sets docs/console), else a temporary directory removed after the tests.
func (p *page) screenshot(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(buf) < 1000 || string(buf[1:4]) != "PNG" {
		p.t.Fatalf("screenshot %s: %d bytes, not a PNG", name, len(buf))
	}
	dir := os.Getenv("PUSHGATE_SCREENSHOTS")
	if dir == "" {
		dir = screenshotTmp(p.t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

var (
	shotDirOnce sync.Once
	shotDir     string
)

func screenshotTmp(t *testing.T) string {
	shotDirOnce.Do(func() { shotDir = filepath.Join(os.TempDir(), fmt.Sprintf("pushgate-screenshots-%d", os.Getpid())) })
	return shotDir
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
