package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// functionsDir is the repository directory holding one main package per
// Lambda function.
const functionsDir = "functions"

// functionSuffix ends every function's logical id; the Makefile's
// build-%Function target relies on it.
const functionSuffix = "Function"

// DirForLogicalID maps a function's logical id to the directory its code lives
// in, by the project's naming convention: "AuthLoginFunction" ->
// "functions/auth-login", "MeFunction" -> "functions/me". The returned path is
// slash-separated and relative to the repository root. Ids that do not follow
// the convention (no "Function" suffix, not PascalCase, not reversible by
// LogicalIDForDir) are an error.
func DirForLogicalID(id string) (string, error) {
	stem, ok := strings.CutSuffix(id, functionSuffix)
	if !ok || stem == "" {
		return "", fmt.Errorf("samtemplate: logical id %q: want <PascalCaseDir>%s", id, functionSuffix)
	}
	var b strings.Builder
	for i, r := range stem {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r - 'A' + 'a')
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			if i == 0 {
				return "", fmt.Errorf("samtemplate: logical id %q must start with an upper-case letter", id)
			}
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("samtemplate: logical id %q: only ASCII letters and digits are allowed", id)
		}
	}
	dir := path.Join(functionsDir, b.String())
	if back := LogicalIDForDir(dir); back != id {
		return "", fmt.Errorf("samtemplate: logical id %q does not round-trip (dir %q gives %q)", id, dir, back)
	}
	return dir, nil
}

// LogicalIDForDir is the inverse of DirForLogicalID: "functions/auth-login"
// (or just "auth-login") -> "AuthLoginFunction". Only the last path element
// is used.
func LogicalIDForDir(dir string) string {
	base := path.Base(filepath.ToSlash(dir))
	var b strings.Builder
	for _, word := range strings.Split(base, "-") {
		if word == "" {
			continue
		}
		b.WriteString(strings.ToUpper(word[:1]))
		b.WriteString(word[1:])
	}
	b.WriteString(functionSuffix)
	return b.String()
}

// FindRepoRoot walks up from start (a file or directory) to the first
// directory holding a go.mod file and returns it as an absolute path.
func FindRepoRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	for {
		fi, err := os.Stat(filepath.Join(dir, "go.mod"))
		if err == nil && !fi.IsDir() {
			return dir, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("samtemplate: no go.mod in %s or any parent directory", start)
		}
		dir = parent
	}
}
