package pushgate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestLockingDocNamesEveryMutex holds LOCKING.md to the code: every sync.Mutex / sync.RWMutex
// field of a struct in engine/ (outside tests) is named there as `<package>.<Type>.<field>`
// (the package path under engine/, e.g. `source/kafka.Source.posMu`; `engine.` for the root
// package), and every lock LOCKING.md names exists. Engineers add code in parallel: the failure
// says which line to add or remove.
func TestLockingDocNamesEveryMutex(t *testing.T) {
	inCode := mutexFields(t, "engine")
	doc, err := os.ReadFile("LOCKING.md")
	if err != nil {
		t.Fatal(err)
	}
	inDoc := documentedLocks(string(doc))
	for _, name := range inCode {
		if !inDoc[name] {
			t.Errorf("LOCKING.md does not name the mutex %s: add it to the table or list of its side, e.g.\n\t- `%s`: what it guards; what may be taken while it is held (or \"leaf\")", name, name)
		}
	}
	for name := range inDoc {
		if !slices.Contains(inCode, name) {
			t.Errorf("LOCKING.md names `%s`, which is no mutex field in engine/ (removed or renamed?): delete or correct that mention", name)
		}
	}
}

// mutexFields lists every struct field of type sync.Mutex or sync.RWMutex (embedded ones by their
// type name) under root, as package.Type.field (fields of anonymous structs as
// package.Type.field.sub), sorted.
func mutexFields(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := strings.TrimPrefix(filepath.ToSlash(filepath.Dir(path)), "engine/")
		if pkg == "engine" {
			pkg = "engine"
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				if st, ok := ts.Type.(*ast.StructType); ok {
					out = append(out, structMutexes(pkg+"."+ts.Name.Name, st)...)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func structMutexes(prefix string, st *ast.StructType) []string {
	var out []string
	for _, f := range st.Fields.List {
		typ := f.Type
		for {
			switch x := typ.(type) {
			case *ast.ArrayType:
				typ = x.Elt
				continue
			case *ast.StarExpr:
				typ = x.X
				continue
			}
			break
		}
		switch x := typ.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == "sync" && (x.Sel.Name == "Mutex" || x.Sel.Name == "RWMutex") {
				if len(f.Names) == 0 {
					out = append(out, prefix+"."+x.Sel.Name)
				}
				for _, n := range f.Names {
					out = append(out, prefix+"."+n.Name)
				}
			}
		case *ast.StructType:
			for _, n := range f.Names {
				out = append(out, structMutexes(prefix+"."+n.Name, x)...)
			}
		}
	}
	return out
}

// lockRef is a backticked mention of a lock: package.Type.field where field ends in mu/Mu
// ("[i]" index notation allowed and dropped: `transport.EngineServer.shards[i].mu`).
var lockRef = regexp.MustCompile("`((?:engine|[a-z]+(?:/[a-z]+)*)\\.[A-Za-z_]+(?:\\.[A-Za-z_]+(?:\\[i\\])?)*\\.[a-zA-Z]*(?:mu|Mu|Mutex))`")

func documentedLocks(doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range lockRef.FindAllStringSubmatch(doc, -1) {
		out[strings.ReplaceAll(m[1], "[i]", "")] = true
	}
	return out
}
