package accounts

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// PasswordPolicy is a tenant's rule for the passwords its users choose, in the
// style of NIST SP 800-63B-4: a minimum length, a generous maximum, a
// blocklist of common passwords and of context words (username, library
// name, barcode), and no composition rules (no "one digit, one symbol") and
// no expiry. Every printable character counts, spaces and emoji included.
type PasswordPolicy struct {
	MinLength int `json:"minLength"` // tenant may set 8..64; default 15
}

// MaxPasswordLength is the most runes a password may have after NFKC
// normalisation. SP 800-63B-4 asks that at least 64 be accepted.
const MaxPasswordLength = 256

const (
	policyMinLengthFloor   = 8  // the least a tenant may require (SP 800-63B-4, with MFA)
	policyMinLengthCeiling = 64 // the most a tenant may require
	policyDefaultMinLength = 15 // SP 800-63B-4 for single-factor passwords

	// policyMaxPasswordBytes bounds the raw input before any normalisation
	// work is spent on it. 256 runes are at most 1024 bytes of UTF-8.
	policyMaxPasswordBytes = 1024

	// policyMinContextWordRunes: shorter context words ("jo", "kpu") would
	// refuse too many good passwords by accident.
	policyMinContextWordRunes = 4
)

// DefaultPasswordPolicy is what a new tenant starts with: at least 15
// characters.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: policyDefaultMinLength}
}

// Validate checks the policy itself, as a tenant administrator set it.
func (p PasswordPolicy) Validate() error {
	if p.MinLength < policyMinLengthFloor || p.MinLength > policyMinLengthCeiling {
		return FieldError("passwordPolicy.minLength",
			"minimum password length must be between %d and %d characters", policyMinLengthFloor, policyMinLengthCeiling)
	}
	return nil
}

// minLength is the minimum Check enforces. A policy that was never set
// (zero) gets the default; one out of bounds is pulled into 8..64, so that a
// bad stored policy can never make passwords weaker than the floor.
func (p PasswordPolicy) minLength() int {
	switch {
	case p.MinLength == 0:
		return policyDefaultMinLength
	case p.MinLength < policyMinLengthFloor:
		return policyMinLengthFloor
	case p.MinLength > policyMinLengthCeiling:
		return policyMinLengthCeiling
	}
	return p.MinLength
}

// ContextKind says what a context word is, so that a refusal names the rule
// that matched.
type ContextKind int

const (
	ContextUsername    ContextKind = iota + 1 // the account's username
	ContextEmail                              // the part of its e-mail address before the @
	ContextBarcode                            // its barcode
	ContextLibraryName                        // the tenant's name
	ContextLibraryID                          // the tenant's id
)

// ContextWord is something a password must not contain.
type ContextWord struct {
	Kind  ContextKind
	Value string
}

// Audience is who reads a refusal: the words differ between a person
// choosing their own password ("your username") and staff setting someone
// else's ("the username").
type Audience int

const (
	// AudienceStaff: staff, or the operator, set another person's password
	// (creating an account, a reset, an import).
	AudienceStaff Audience = iota
	// AudienceSelf: the person chooses their own password (a change, or an
	// e-mailed reset link).
	AudienceSelf
)

// phrase names a context word for the reader of the refusal. The value is
// never repeated: a refusal is shown, and may be logged.
func (k ContextKind) phrase(a Audience) string {
	own := a == AudienceSelf
	switch k {
	case ContextUsername:
		if own {
			return "your username"
		}
		return "the username"
	case ContextEmail:
		if own {
			return "the part of your e-mail address before the @"
		}
		return "the part of the e-mail address before the @"
	case ContextBarcode:
		if own {
			return "your barcode"
		}
		return "the barcode"
	case ContextLibraryName:
		return "the library's name"
	case ContextLibraryID:
		return "the library's ID"
	}
	return "a word about the account"
}

// Check normalises password to Unicode NFKC and checks it against the policy.
// It returns the normalised form, which is what must be hashed, or an error
// with code invalid, field "password" and a specific reason, worded for
// audience, that never repeats the password or a context word.
//
// words are things the password must not contain, case-insensitively (see
// ContextKind); the first that matches is named. Empty ones, and ones
// shorter than 4 characters, are ignored.
func (p PasswordPolicy) Check(password string, audience Audience, words ...ContextWord) (string, error) {
	if len(password) > policyMaxPasswordBytes {
		return "", passwordError("password is too long (at most %d bytes)", policyMaxPasswordBytes)
	}
	if !utf8.ValidString(password) {
		return "", passwordError("password contains bytes that are not valid UTF-8 text")
	}
	normalized := norm.NFKC.String(password)
	for _, r := range normalized {
		if unicode.IsControl(r) {
			return "", passwordError("password must not contain control characters such as tabs or line breaks")
		}
	}
	n := utf8.RuneCountInString(normalized)
	if minLen := p.minLength(); n < minLen {
		return "", passwordError("password must be at least %d characters long", minLen)
	}
	if n > MaxPasswordLength {
		return "", passwordError("password must be at most %d characters long", MaxPasswordLength)
	}
	if policySingleRune(normalized) {
		return "", passwordError("password must not be one character repeated")
	}
	lower := strings.ToLower(normalized)
	if IsCommonPassword(lower) {
		return "", passwordError("password is on a list of commonly used passwords; choose another")
	}
	for _, w := range words {
		v := strings.ToLower(norm.NFKC.String(strings.TrimSpace(w.Value)))
		if utf8.RuneCountInString(v) >= policyMinContextWordRunes && strings.Contains(lower, v) {
			return "", passwordError("password must not contain %s", w.Kind.phrase(audience))
		}
	}
	return normalized, nil
}

func passwordError(format string, args ...any) *Error {
	return FieldError("password", format, args...)
}

// policySingleRune reports whether s is one rune repeated.
func policySingleRune(s string) bool {
	first, size := utf8.DecodeRuneInString(s)
	for _, r := range s[size:] {
		if r != first {
			return false
		}
	}
	return true
}

// The generated-password alphabet: lower-case letters and digits without the
// look-alikes 0/o, 1/l/i. 31 symbols, about 4.95 bits each.
const policyGenAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

const (
	policyGenGroupLen  = 4
	policyGenMinGroups = 5 // 20 symbols, about 99 bits
)

// GeneratePassword returns a random password that passes p.Check: groups of
// four characters from an unambiguous lower-case and digit alphabet joined
// with '-', such as "k7mq-x3vd-9pzr-b2nf-h4tw". It has at least five groups
// (about 99 bits of entropy from crypto/rand), and more when the policy's
// minimum length needs them (hyphens count towards the length, as in Check).
func GeneratePassword(p PasswordPolicy) (string, error) {
	groups := policyGenMinGroups
	// g groups are 5g-1 characters long.
	for groups*(policyGenGroupLen+1)-1 < p.minLength() {
		groups++
	}
	var lastErr error
	for range 10 { // a random password is on the blocklist with negligible probability
		pw, err := policyRandomGroups(groups)
		if err != nil {
			return "", Internal(err)
		}
		if _, lastErr = p.Check(pw, AudienceStaff); lastErr == nil {
			return pw, nil
		}
	}
	return "", Internal(fmt.Errorf("generated passwords keep failing the policy: %w", lastErr))
}

// policyRandomGroups draws groups*4 symbols uniformly from
// policyGenAlphabet, rejecting random bytes at or above the largest
// multiple of its size so that there is no modulo bias.
func policyRandomGroups(groups int) (string, error) {
	const n = len(policyGenAlphabet)
	const limit = 256 - 256%n
	var sb strings.Builder
	sb.Grow(groups * (policyGenGroupLen + 1))
	buf := make([]byte, 64)
	pos := len(buf)
	for i := 0; i < groups*policyGenGroupLen; {
		if pos == len(buf) {
			if _, err := rand.Read(buf); err != nil {
				return "", fmt.Errorf("reading random bytes: %w", err)
			}
			pos = 0
		}
		b := buf[pos]
		pos++
		if int(b) >= limit {
			continue
		}
		if i > 0 && i%policyGenGroupLen == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(policyGenAlphabet[int(b)%n])
		i++
	}
	return sb.String(), nil
}

// blocklist.txt.gz holds 100,000 common passwords of 8 or more characters,
// most common first, from the OWASP SecLists "10 million password list top
// 1M" (CC BY-SA 3.0; see docs/THIRD_PARTY.md).
//
//go:embed blocklist.txt.gz
var policyBlocklistGz []byte

var (
	policyBlocklistOnce sync.Once
	policyBlocklist     map[string]struct{}
)

// IsCommonPassword reports whether the normalised password, lower-cased, is
// on the shipped blocklist of common passwords. The list is decompressed
// into memory on first use.
func IsCommonPassword(normalized string) bool {
	policyBlocklistOnce.Do(policyLoadBlocklist)
	_, found := policyBlocklist[strings.ToLower(normalized)]
	return found
}

func policyLoadBlocklist() {
	zr, err := gzip.NewReader(bytes.NewReader(policyBlocklistGz))
	if err != nil {
		panic("accounts: embedded password blocklist is corrupt: " + err.Error())
	}
	m := make(map[string]struct{}, 100_000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[strings.ToLower(norm.NFKC.String(w))] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		panic("accounts: embedded password blocklist is corrupt: " + err.Error())
	}
	policyBlocklist = m
}
