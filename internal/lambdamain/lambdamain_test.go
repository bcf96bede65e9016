package lambdamain_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/libaccounts/libaccounts"

// forbidden reports why a binary that ships, or runs on a developer's
// machine as the stack, must not link pkg: the dev stack is its own house,
// and test code has no place in a binary.
func forbidden(pkg string, devstackAllowed bool) string {
	switch {
	case pkg == "testing" || strings.HasPrefix(pkg, "testing/"):
		return "test code"
	case pkg == "net/http/httptest":
		return "test code"
	case !devstackAllowed && (pkg == module+"/internal/devstack" || strings.HasPrefix(pkg, module+"/internal/devstack/")):
		return "the dev stack"
	}
	return ""
}

// deps lists every main package that pattern matches with its
// dependencies, as `go list -deps` resolves them for env and tags.
func deps(tb testing.TB, pattern string, env []string, tags string) map[string][]string {
	tb.Helper()
	args := []string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, pattern)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	got := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			got[fields[0]] = fields[1:]
		}
	}
	return got
}

// TestBinariesLinkNoDevStackNorTests holds every function to what it is
// deployed as, and the dev stack's own command to not linking test code:
// a test helper imported from a non-test file would otherwise ride along
// unnoticed.
func TestBinariesLinkNoDevStackNorTests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	cases := []struct {
		name            string
		pattern         string
		env             []string
		tags            string
		atLeast         int // main packages the pattern must match, so an empty match cannot pass
		devstackAllowed bool
	}{
		{"functions as deployed", module + "/functions/...", []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, "lambda.norpc", 2, false},
		{"functions as the local stack builds them", module + "/functions/...", []string{"CGO_ENABLED=0"}, "lambda.norpc", 2, false},
		{"the dev stack command", module + "/cmd/devstack", nil, "", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bins := deps(t, tc.pattern, tc.env, tc.tags)
			if len(bins) < tc.atLeast {
				t.Fatalf("go list %s matched %d packages, want at least %d", tc.pattern, len(bins), tc.atLeast)
			}
			for _, bin := range slices.Sorted(maps.Keys(bins)) {
				for _, dep := range bins[bin] {
					if why := forbidden(dep, tc.devstackAllowed); why != "" {
						t.Errorf("%s depends on %s (%s)", bin, dep, why)
					}
				}
			}
		})
	}
}
