package hostos

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestUUID(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := UUID()
		if !shape.MatchString(id) {
			t.Fatalf("UUID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("UUID() repeated %q", id)
		}
		seen[id] = true
	}
	if h := RandomHex(6); len(h) != 12 || h == RandomHex(6) {
		t.Errorf("RandomHex(6) = %q", h)
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir(%s): %v", dir, err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
}
