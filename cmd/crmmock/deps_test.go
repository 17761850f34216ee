// Cross-cutting suite (keeps its name): what the production binary links.

package main

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Ensure the production binary links no test-only code: neither testing nor
// net/http/httptest is among its dependencies (mockserver.Server is its own listener,
// and the script runner's Go-test adapter lives in mockserver/script/scripttest), and
// no generator (go/format and its parser: internal/contract's generator is a command of
// its own).
func TestBinaryLinksNoTestingPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || dep == "net/http/httptest" || dep == "go/format" || dep == "go/parser" {
			t.Errorf("cmd/crmmock depends on %s", dep)
		}
	}
}

// Ensure none of the binary's own packages compiles a regular expression while the
// process starts: package-level ones are built on first use (sync.OnceValue), since
// every command paid for all of them before main, on the way to the first answered
// login (see BenchmarkBinaryStartToFirstLogin).
func TestNoRegexpCompiledAtInit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if eq .Module.Path \"github.com/crmmock/crmmock\"}}{{.Dir}}{{end}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	dirs := strings.Fields(string(out))
	if len(dirs) < 5 {
		t.Fatalf("go list found only %v", dirs)
	}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fset := gotoken.NewFileSet()
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				g, ok := decl.(*ast.GenDecl)
				if !ok || g.Tok != gotoken.VAR {
					continue
				}
				ast.Inspect(g, func(n ast.Node) bool {
					if _, ok := n.(*ast.FuncLit); ok {
						return false // built when the function runs, not at init
					}
					if call, ok := n.(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok && x.Name == "regexp" && strings.HasPrefix(sel.Sel.Name, "MustCompile") {
								t.Errorf("%s: a regular expression compiled at init: use sync.OnceValue", fset.Position(call.Pos()))
							}
						}
					}
					return true
				})
			}
		}
	}
}
