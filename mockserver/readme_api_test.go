// Cross-cutting suite (keeps its name): docs/go-api.md checked against every exported function of the package.

package mockserver

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportedSignatures returns "func …" for every exported function and method of this
// package (test files aside), as gofmt prints them without bodies.
func exportedSignatures(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var sigs []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			if fn.Recv != nil {
				recv := fn.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); !ok || !id.IsExported() {
					continue
				}
			}
			fn.Body, fn.Doc = nil, nil
			var b bytes.Buffer
			require.NoError(t, printer.Fprint(&b, fset, fn))
			sigs = append(sigs, b.String())
		}
	}
	sort.Strings(sigs)
	return sigs
}

// Ensure docs/go-api.md lists the signature of every exported function
// and method (CRMMOCK_PRINT_API=1 prints them all).
func TestReadmeListsGoAPI(t *testing.T) {
	readme, err := os.ReadFile("../docs/go-api.md")
	require.NoError(t, err)
	sigs := exportedSignatures(t)
	if os.Getenv("CRMMOCK_PRINT_API") != "" {
		t.Log("\n" + strings.Join(sigs, "\n"))
	}
	var missing []string
	for _, s := range sigs {
		if !strings.Contains(string(readme), s) {
			missing = append(missing, s)
		}
	}
	assert.Empty(t, missing, "docs/go-api.md lacks these signatures")
}
