package pushgate

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityDocNamesRealTests holds SECURITY.md (and the test names of RELIABILITY.md) against
// the code: every test, fuzz target or benchmark named in backticks exists as a function in a
// _test.go file of the repository, and every repository file named in SECURITY.md exists. A
// renamed or deleted test makes the page lie; this makes it fail instead.
func TestSecurityDocNamesRealTests(t *testing.T) {
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllSubmatch(b, -1) {
				funcs[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z]\\w*)`")
	file := regexp.MustCompile("`((?:engine|protocol|cmd|interop|browser|loadtest|scripts)/[\\w./-]+\\.(?:go|mjs|js|sh|md))`")
	for _, doc := range []string{"SECURITY.md", "RELIABILITY.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range name.FindAllSubmatch(b, -1) {
			n++
			if !funcs[string(m[1])] {
				t.Errorf("%s names %s, which is not a test function of the repository", doc, m[1])
			}
		}
		if n == 0 {
			t.Errorf("%s names no test", doc)
		}
		if doc != "SECURITY.md" {
			continue
		}
		for _, m := range file.FindAllSubmatch(b, -1) {
			if _, err := os.Stat(string(m[1])); err != nil {
				t.Errorf("%s names %s: %v", doc, m[1], err)
			}
		}
	}
}

// TestBase64DecodingIsStrict holds the rule that made the cluster replay hole impossible to
// reintroduce: unpadded base64 leaves unused low bits, so a lenient decoder accepts several
// spellings of one MAC, signature or sealed value. Every base64 decoding in the server's code uses
// Strict(), or says on the same line why it may be lenient ("// lenient: …", for data that is
// never compared or remembered as a credential).
func TestBase64DecodingIsStrict(t *testing.T) {
	for _, root := range []string{"engine", "protocol", "cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				code := strings.TrimSpace(line)
				if strings.HasPrefix(code, "//") || !strings.Contains(code, "base64.") || strings.Contains(code, "Encode") || strings.Contains(code, `"encoding/base64"`) {
					continue
				}
				if !strings.Contains(line, "Strict()") && !strings.Contains(line, "// lenient:") {
					t.Errorf("%s:%d decodes base64 leniently without saying why (use Strict(), or add \"// lenient: <why>\"):\n\t%s", path, i+1, code)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
