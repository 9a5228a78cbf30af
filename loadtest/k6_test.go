package loadtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var k6Import = regexp.MustCompile(`^\s*import\s+.+\s+from\s+['"](k6(?:/[^'"]*)?)['"];?\s*$`)

// TestK6ScriptsSyntax checks every k6/*.js with `node --check` after removing
// the k6 module imports (node cannot resolve them; syntax is what matters).
// Any import that is not a k6 module fails the test: the scripts must run on
// a stock k6 (plus xk6-sse for sse-xk6.js).
func TestK6ScriptsSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH; k6 scripts not checked")
	}
	scripts, _ := filepath.Glob(filepath.Join("..", "k6", "*.js"))
	if len(scripts) < 3 {
		t.Fatalf("found %d k6 scripts, want socketio.js, publish.js, sse-xk6.js", len(scripts))
	}
	dir := t.TempDir()
	for _, path := range scripts {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(src), "\n")
			imports := 0
			for i, l := range lines {
				if m := k6Import.FindStringSubmatch(l); m != nil {
					imports++
					lines[i] = "// " + m[1] + " import removed for node --check"
					continue
				}
				if strings.HasPrefix(strings.TrimSpace(l), "import ") {
					t.Errorf("line %d: non-k6 import %q", i+1, l)
				}
			}
			if imports == 0 {
				t.Errorf("no k6 imports found; is this a k6 script?")
			}
			out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".js")+".mjs")
			if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(node, "--check", out).CombinedOutput(); err != nil {
				t.Fatalf("node --check %s: %v\n%s", path, err, msg)
			}
		})
	}
}

// TestK6CheckCatchesBrokenScript makes sure the syntax check is not vacuous.
func TestK6CheckCatchesBrokenScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH")
	}
	f := filepath.Join(t.TempDir(), "bad.mjs")
	if err := os.WriteFile(f, []byte("export default function () { if ( }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(node, "--check", f).Run(); err == nil {
		t.Fatal("node --check accepted a broken script")
	}
}
