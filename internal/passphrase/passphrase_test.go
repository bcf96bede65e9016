package passphrase_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/passphrase"
)

func TestWordList(t *testing.T) {
	if n := passphrase.WordCount(); n != 7776 {
		t.Fatalf("WordCount = %d, want 7776 (the EFF large list)", n)
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p, err := passphrase.Generate(rand.Reader, 6)
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Split(p, " "); len(w) != 6 {
			t.Fatalf("%q has %d words, want 6", p, len(w))
		}
		if passphrase.Normalize(p) != p {
			t.Errorf("a generated phrase is not in normal form: %q", p)
		}
		if seen[p] {
			t.Fatalf("phrase %q drawn twice in 200", p)
		}
		seen[p] = true
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Abacus  zoom\nT-shirt", "abacus zoom t-shirt"},
		{" abacus, zoom. ", "abacus zoom"},
		{"", ""},
	} {
		if got := passphrase.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
