package samtemplate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

func TestDirForLogicalID(t *testing.T) {
	// The Makefile and the local stack map logical ids to code directories
	// through this convention; both directions must agree.
	tests := []struct {
		id, dir string
	}{
		{"AuthLoginFunction", "functions/auth-login"},
		{"MeFunction", "functions/me"},
		{"AdminUsersCreateFunction", "functions/admin-users-create"},
		{"AuthorizerFunction", "functions/authorizer"},
		{"V2LoginFunction", "functions/v2-login"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			dir, err := samtemplate.DirForLogicalID(tt.id)
			if err != nil || dir != tt.dir {
				t.Errorf("DirForLogicalID(%q) = %q, %v; want %q", tt.id, dir, err, tt.dir)
			}
			if got := samtemplate.LogicalIDForDir(tt.dir); got != tt.id {
				t.Errorf("LogicalIDForDir(%q) = %q, want %q", tt.dir, got, tt.id)
			}
			// A bare directory name works too.
			if got := samtemplate.LogicalIDForDir(filepath.Base(tt.dir)); got != tt.id {
				t.Errorf("LogicalIDForDir(%q) = %q, want %q", filepath.Base(tt.dir), got, tt.id)
			}
		})
	}
}

func TestDirForLogicalIDRejects(t *testing.T) {
	// Ids off the convention would build nothing (or the wrong thing).
	for _, id := range []string{"", "Function", "AuthLogin", "authLoginFunction", "Auth_LoginFunction", "AuthLoginFunctionX"} {
		if dir, err := samtemplate.DirForLogicalID(id); err == nil {
			t.Errorf("DirForLogicalID(%q) = %q, want an error", id, dir)
		}
	}
}

func TestFindRepoRoot(t *testing.T) {
	// Tools run from any package directory must find the same root.
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(deep, "f.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{root, deep, file} {
		got, err := samtemplate.FindRepoRoot(start)
		if err != nil || got != root {
			t.Errorf("FindRepoRoot(%q) = %q, %v; want %q", start, got, err, root)
		}
	}

	// Outside any module it is an error, not the filesystem root. (Not
	// checkable when the temp dir itself lives under a go.mod.)
	outside := t.TempDir()
	if got, err := samtemplate.FindRepoRoot(outside); err == nil {
		t.Logf("temp dir is inside module %s; not checking the no-go.mod case", got)
	}
}
