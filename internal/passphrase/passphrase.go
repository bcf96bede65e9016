// Package passphrase makes share phrases: words drawn uniformly, with
// crypto/rand, from the EFF large wordlist (7,776 words, 12.9 bits each;
// docs/THIRD_PARTY.md gives its source and licence).
package passphrase

import (
	"bufio"
	"crypto/rand"
	_ "embed"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
)

//go:embed eff_large_wordlist.txt
var effLarge string

var words = sync.OnceValue(func() []string {
	out := make([]string, 0, 7776)
	sc := bufio.NewScanner(strings.NewReader(effLarge))
	for sc.Scan() {
		// Each line is "<five dice> <word>"; the dice are for people who
		// roll their own, the word is what we use.
		_, w, ok := strings.Cut(sc.Text(), "\t")
		if ok && w != "" {
			out = append(out, w)
		}
	}
	return out
})

// WordCount is how many words the list holds.
func WordCount() int { return len(words()) }

// Generate returns n words separated by single spaces, each drawn uniformly
// from the list with r (crypto/rand in production).
func Generate(r io.Reader, n int) (string, error) {
	list := words()
	max := big.NewInt(int64(len(list)))
	out := make([]string, n)
	for i := range out {
		// rand.Int rejects out-of-range draws, so no word is likelier
		// than another (a plain modulo would favour the first ones).
		k, err := rand.Int(r, max)
		if err != nil {
			return "", fmt.Errorf("share phrase: %w", err)
		}
		out[i] = list[k.Int64()]
	}
	return strings.Join(out, " "), nil
}

// Normalize is the form a typed phrase is compared in: lower case, words
// separated by one space, whatever the person put between them (spaces,
// line breaks, commas, dots). Hyphens stay: some words hold one.
func Normalize(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == '.' || r == ';' || r == '_'
	})
	return strings.Join(f, " ")
}
