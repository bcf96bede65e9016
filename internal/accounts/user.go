package accounts

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Status says whether an account may sign in. Deactivation is reversible and
// separate from the temporary lockout that failed logins cause.
type Status string

const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
)

// RoleAdmin grants the staff API. A user with no roles is an end user
// (a patron).
const RoleAdmin = "admin"

// User is one account of one tenant.
type User struct {
	TenantID           string
	ID                 string // stable and opaque; never reused
	Username           string // display form, case kept
	Email              string
	Barcode            string
	PrimaryID          string // a string: leading zeros are significant
	Roles              []string
	Status             Status
	Queues             []string
	CannedMessagePools []string
	PasswordHash       string // PHC string; never leaves the domain and store
	MustChangePassword bool
	// FailedLogins counts consecutive failed sign-ins; it restarts after a
	// quiet period without failures (LastFailureAt), see lockout.go.
	FailedLogins  int
	LastFailureAt time.Time
	LockedUntil   time.Time
	// CredentialEpoch goes up with every credential event (CredentialsEnded
	// and each link issued); a reset link works only at the epoch it was
	// issued for, so every event ends every outstanding link.
	CredentialEpoch   int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastLoginAt       time.Time
	PasswordChangedAt time.Time
	Version           int64 // optimistic locking: bumped on every change
	// EmailStatus is what SES reported against Email (a hard bounce or a
	// complaint); notices to a flagged address are skipped. Changing the
	// address clears it.
	EmailStatus   EmailStatus
	EmailStatusAt time.Time
	// ImportJob and ImportRow name the import row that last wrote the user,
	// so a redelivered chunk recognises its own work and counts it once.
	ImportJob string
	ImportRow int
	// ResetJob is the last bulk reset job that reset the user, and
	// ResetNotice the notice it raised: a redelivered batch finds its own
	// work here and does it not again.
	ResetJob    string
	ResetNotice string
}

// OpensStaffAPI reports whether role gives access to the staff API; such a
// role is only ever given by being named.
func OpensStaffAPI(role string) bool { return role == RoleAdmin }

// HasRole reports whether u holds role.
func (u User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// IsAdmin reports whether u may use the staff API.
func (u User) IsAdmin() bool { return slices.ContainsFunc(u.Roles, OpensStaffAPI) }

// UsernameKey is the form uniqueness and lookups use: NFKC, lower-cased, so
// "Sadie.P" and "sadie.p" are one account while the display case is kept.
func UsernameKey(username string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(username)))
}

// IdentifierKey is the comparison form of a barcode or primary ID: exact but
// for case, and never stripped of leading zeros.
func IdentifierKey(v string) string { return strings.ToLower(strings.TrimSpace(v)) }

// EmailKey is the comparison form of an e-mail address.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const (
	maxUsernameRunes = 128
	maxIdentifier    = 64
	maxEmailBytes    = 254 // RFC 5321's path limit, less the angle brackets
	maxListEntries   = 100
	maxListEntry     = 100
	maxRoles         = 20
)

var rolePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

func normalizeUsername(field, s string) (string, error) {
	s = norm.NFKC.String(strings.TrimSpace(s))
	if s == "" {
		return "", FieldError(field, "username is required")
	}
	if !utf8.ValidString(s) {
		return "", FieldError(field, "username is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxUsernameRunes {
		return "", FieldError(field, "username must be at most %d characters (got %d)", maxUsernameRunes, n)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return "", FieldError(field, "username must not contain spaces or control characters")
		}
	}
	if _, err := precis.UsernameCasePreserved.String(s); err != nil {
		// The PRECIS username profile (RFC 8265) keeps out what would let
		// two names look alike: invisible fillers (U+3164), variation
		// selectors, symbols.
		return "", FieldError(field, "username may hold letters, digits and ASCII punctuation, without symbols, emoji or invisible characters")
	}
	return s, nil
}

// UsernameSkeleton is what a username looks like, for refusing a second
// name that a reader could not tell from the first (Cyrillic "а" for Latin
// "a", "rn" for "m", a trailing combining dot): the name case-folded (so
// final sigma is sigma), then Unicode's confusable skeleton (UTS #39), with
// accents dropped and case folded again. Two usernames of one library must
// have different skeletons.
func UsernameSkeleton(username string) string {
	s, err := precis.UsernameCaseMapped.String(norm.NFKC.String(strings.TrimSpace(username)))
	if err != nil {
		s = UsernameKey(username) // refused by normalizeUsername anyway
	}
	s = confusables.Skeleton(cases.Fold().String(s))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return cases.Fold().String(b.String())
}

func normalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > maxEmailBytes {
		return "", FieldError(field, "e-mail address must be at most %d characters", maxEmailBytes)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", FieldError(field, "e-mail address is not valid (expected name@example.org)")
	}
	at := strings.LastIndexByte(s, '@')
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

func normalizeIdentifier(field, label, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxIdentifier {
		return "", FieldError(field, "%s must be at most %d characters", label, maxIdentifier)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return "", FieldError(field, "%s must not contain spaces or control characters", label)
		}
	}
	return s, nil
}

func normalizeRoles(field string, roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if !rolePattern.MatchString(r) {
			return nil, FieldError(field, "role %q is not valid: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter", Truncate(r, 40))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) > maxRoles {
		return nil, FieldError(field, "at most %d roles", maxRoles)
	}
	slices.Sort(out)
	return out, nil
}

func normalizeList(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for i, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxListEntry {
			return nil, FieldError(field, "entry %d must be at most %d characters", i+1, maxListEntry)
		}
		if strings.ContainsFunc(v, unicode.IsControl) {
			return nil, FieldError(field, "entry %d contains control characters", i+1)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) > maxListEntries {
		return nil, FieldError(field, "at most %d entries", maxListEntries)
	}
	return out, nil
}

func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// contextWords are the words a user's password must not contain, the
// user's own first.
func contextWords(t Tenant, username, email, barcode string) []ContextWord {
	words := []ContextWord{{ContextUsername, username}, {ContextBarcode, barcode}}
	if at := strings.LastIndexByte(email, '@'); at > 0 {
		words = append(words, ContextWord{ContextEmail, email[:at]})
	}
	return append(words, ContextWord{ContextLibraryName, t.Name}, ContextWord{ContextLibraryID, t.ID})
}
