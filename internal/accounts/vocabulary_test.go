package accounts_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// httpWords are what only the HTTP adapter may say: routes, methods and
// headers. The domain's messages speak of actions ("change your password",
// "the version you last read"), so that every adapter (the API, the CLI,
// the import reports) can say them in its own terms.
var httpWords = regexp.MustCompile(`/v1/|(?i:if-match|etag|\bheaders?\b)|\b(GET|POST|PUT|PATCH|DELETE) /`)

// TestTheDomainNamesNoRoutesOrHeaders reads every string literal of the
// package's code (comments may explain HTTP; messages may not name it).
func TestTheDomainNamesNoRoutesOrHeaders(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			checked++
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			if m := httpWords.FindString(v); m != "" {
				t.Errorf("%s: %q names %q; say the action, and let the adapter name the route or header", fset.Position(lit.Pos()), v, m)
			}
			return true
		})
	}
	if checked < 100 {
		t.Fatalf("only %d string literals read; the test is not looking at the package", checked)
	}
}
