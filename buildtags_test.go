package pushgate_test

import (
	"bufio"
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// platformTags are build tags the toolchain sets itself; every other tag in a //go:build line is
// one of ours and must be in the Makefile's BUILD_TAGS, which `make test` vets with: a file
// behind a tag only its own target sets (make run-cluster, a soak run) must still compile.
var platformTags = map[string]bool{"linux": true, "darwin": true, "windows": true, "freebsd": true, "unix": true,
	"race": true, "cgo": true, "amd64": true, "arm64": true, "ignore": true}

func TestEveryBuildTagIsVetted(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD_TAGS\s*:?=\s*(\S+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: no BUILD_TAGS line")
	}
	vetted := map[string]bool{}
	for _, tag := range strings.Split(string(m[1]), ",") {
		vetted[tag] = true
	}
	if !regexp.MustCompile(`(?m)^\t\$\(GO\) vet -tags \$\(BUILD_TAGS\) \./\.\.\.$`).Match(mk) {
		t.Error("Makefile: no `$(GO) vet -tags $(BUILD_TAGS) ./...` line")
	}
	used := map[string]string{}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "package ") {
				break
			}
			if !constraint.IsGoBuild(line) {
				continue
			}
			expr, err := constraint.Parse(line)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			for _, tag := range tagsOf(expr) {
				if !platformTags[tag] {
					used[tag] = path
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for tag, path := range used {
		if !vetted[tag] {
			missing = append(missing, tag+" ("+path+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("build tags not in the Makefile's BUILD_TAGS (so never compiled by make test): %v", missing)
	}
	if len(used) == 0 {
		t.Error("found no build tag at all: the walk is broken")
	}
}

// tagsOf lists every tag of a build constraint (Eval would skip the right side of a true "||").
func tagsOf(e constraint.Expr) []string {
	switch e := e.(type) {
	case *constraint.TagExpr:
		return []string{e.Tag}
	case *constraint.NotExpr:
		return tagsOf(e.X)
	case *constraint.AndExpr:
		return append(tagsOf(e.X), tagsOf(e.Y)...)
	case *constraint.OrExpr:
		return append(tagsOf(e.X), tagsOf(e.Y)...)
	}
	return nil
}
