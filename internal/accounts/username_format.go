package accounts

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// UsernameFormat is a library's rule for usernames, written with
// placeholders: {first} and {last} stand for the lower-cased ASCII first and
// last name, {first1} and {last1} for their initials. Everything else is
// literal. A conforming username may end in a number that tells namesakes
// apart (kpu-sadie-p, kpu-sadie-p2). The empty format allows any username.
type UsernameFormat string

var (
	formatPlaceholder = regexp.MustCompile(`\{(first|last|first1|last1)\}`)
	formatLiteral     = regexp.MustCompile(`^[a-z0-9._@-]*$`)
)

// Validate checks the format itself.
func (f UsernameFormat) Validate() error {
	if f == "" {
		return nil
	}
	s := string(f)
	if len(s) > 64 {
		return FieldError("usernameFormat", "username format must be at most 64 characters")
	}
	if !formatPlaceholder.MatchString(s) {
		return FieldError("usernameFormat", "username format needs at least one of {first}, {last}, {first1}, {last1}, e.g. kpu-{first}-{last1}")
	}
	if rest := formatPlaceholder.ReplaceAllString(s, ""); !formatLiteral.MatchString(rest) || strings.ContainsAny(rest, "{}") {
		return FieldError("usernameFormat", "username format may hold only lower-case letters, digits, . _ @ - and the placeholders {first}, {last}, {first1}, {last1}")
	}
	return nil
}

func (f UsernameFormat) pattern() *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	s := string(f)
	for {
		loc := formatPlaceholder.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(regexp.QuoteMeta(s))
			break
		}
		b.WriteString(regexp.QuoteMeta(s[:loc[0]]))
		switch s[loc[2]:loc[3]] {
		case "first", "last":
			b.WriteString("[a-z]+")
		default:
			b.WriteString("[a-z]")
		}
		s = s[loc[1]:]
	}
	b.WriteString("([2-9]|[1-9][0-9]+)?$")
	return regexp.MustCompile(b.String())
}

// Example shows the format filled in for a person called Sadie Park.
func (f UsernameFormat) Example() string {
	u, _ := f.fill("sadie", "park")
	return u
}

// Check refuses a username that does not follow the format, showing it.
func (f UsernameFormat) Check(field, username string) error {
	if f == "" || f.pattern().MatchString(UsernameKey(username)) {
		return nil
	}
	return FieldError(field, "username must follow this library's format %s, e.g. %s", string(f), f.Example())
}

// maxNameRunes bounds the names a username is suggested from.
const maxNameRunes = 512

// fill makes the username the format gives for a name, short enough that
// create accepts it with a counter appended: long names are cut, each part
// to the same length.
func (f UsernameFormat) fill(first, last string) (string, error) {
	for field, v := range map[string]string{"firstName": first, "lastName": last} {
		if n := utf8.RuneCountInString(v); n > maxNameRunes {
			return "", FieldError(field, "%s must be at most %d characters (got %d)", map[string]string{"firstName": "first name", "lastName": "last name"}[field], maxNameRunes, n)
		}
	}
	first, last = asciiName(first), asciiName(last)
	for part := maxUsernameRunes; ; part-- {
		u, err := f.fillParts(first[:min(len(first), part)], last[:min(len(last), part)])
		// Room for the counter SuggestUsername appends ("…500").
		if err != nil || len(u) <= maxUsernameRunes-3 || part == 1 {
			return u, err
		}
	}
}

func (f UsernameFormat) fillParts(first, last string) (string, error) {
	needs := func(p string) bool { return strings.Contains(string(f), p) }
	if first == "" && (needs("{first}") || needs("{first1}")) {
		return "", FieldError("firstName", "first name needs at least one letter a-z (accents are dropped)")
	}
	if last == "" && (needs("{last}") || needs("{last1}")) {
		return "", FieldError("lastName", "last name needs at least one letter a-z (accents are dropped)")
	}
	return formatPlaceholder.ReplaceAllStringFunc(string(f), func(p string) string {
		switch p {
		case "{first}":
			return first
		case "{last}":
			return last
		case "{first1}":
			return first[:1]
		}
		return last[:1]
	}), nil
}

// asciiName lower-cases a name and keeps its letters a-z, dropping accents
// (Zoë → zoe) and everything else.
func asciiName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		} else if unicode.Is(unicode.Mn, r) {
			continue
		}
	}
	return b.String()
}
