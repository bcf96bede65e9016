package accounts

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tenant is one library sharing the deployment. Its id is the short slug
// staff and patrons type at login ("kpu") and is part of every key.
type Tenant struct {
	ID        string
	Name      string
	Settings  Settings
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Settings are the knobs a library sets for itself. Stored settings are
// decoded over DefaultSettings, so a setting added later starts at its
// default for existing libraries.
type Settings struct {
	PasswordPolicy PasswordPolicy `json:"passwordPolicy"`
	// UsernameFormat, when set, is what every new or renamed username must
	// follow, e.g. "kpu-{first}-{last1}" (the LibraryH3lp-style
	// institution-firstname-lastinitial).
	UsernameFormat UsernameFormat `json:"usernameFormat"`
	// StaffPasswordsMustChange makes a password that staff set or
	// generated a temporary one, to be changed at the next sign-in.
	StaffPasswordsMustChange bool `json:"staffPasswordsMustChange"`
	// ImportedPasswordsMustChange does the same for plaintext passwords
	// that arrive in an import file (not for migrated hashes).
	ImportedPasswordsMustChange bool `json:"importedPasswordsMustChange"`
	// ResetLinkTTL is how long an e-mailed reset link works.
	ResetLinkTTL Duration `json:"resetLinkTtl"`
	// RecoveryLinkTTL is how long a link a patron asked for themselves
	// (forgot password) works: shorter than staff's, since nobody vouched
	// for the request, and at most a day.
	RecoveryLinkTTL Duration `json:"recoveryLinkTtl"`
	// SenderName is the name notices come from; empty means the library's
	// name.
	SenderName string `json:"senderName"`
	// LinkingDisabled turns linked accounts off: no phrase can be made or
	// used, and existing links do nothing until it is turned on again.
	LinkingDisabled bool `json:"linkingDisabled"`
	// RenewalLimit is how often a loan may be renewed when the ILS does
	// not say; RenewalWindowDays how many days before its due date a loan
	// may first be renewed.
	RenewalLimit      int `json:"renewalLimit"`
	RenewalWindowDays int `json:"renewalWindowDays"`
}

const (
	minResetLinkTTL = 15 * time.Minute
	maxResetLinkTTL = 7 * 24 * time.Hour
	// maxRecoveryLinkTTL bounds self-service links: a link in a mailbox
	// for longer is one more way in for whoever reads the mailbox later.
	maxRecoveryLinkTTL = 24 * time.Hour
	maxSenderName      = 80
	maxTenantName      = 120
)

// DefaultSettings are what a new tenant starts with.
func DefaultSettings() Settings {
	return Settings{
		PasswordPolicy:              DefaultPasswordPolicy(),
		StaffPasswordsMustChange:    true,
		ImportedPasswordsMustChange: true,
		ResetLinkTTL:                Duration(24 * time.Hour),
		RenewalLimit:                2,
		RenewalWindowDays:           3,
		RecoveryLinkTTL:             Duration(time.Hour),
	}
}

// Validate checks every setting and names the first one at fault.
func (s Settings) Validate() error {
	if err := s.PasswordPolicy.Validate(); err != nil {
		return err
	}
	if err := s.UsernameFormat.Validate(); err != nil {
		return err
	}
	if d := time.Duration(s.ResetLinkTTL); d < minResetLinkTTL || d > maxResetLinkTTL {
		return FieldError("resetLinkTtl", "reset link lifetime must be between 15m and 168h")
	}
	if d := time.Duration(s.RecoveryLinkTTL); d < minResetLinkTTL || d > maxRecoveryLinkTTL {
		return FieldError("recoveryLinkTtl", "recovery link lifetime must be between 15m and 24h")
	}
	if s.RenewalLimit < 0 || s.RenewalLimit > 50 {
		return FieldError("renewalLimit", "renewal limit must be between 0 and 50")
	}
	if s.RenewalWindowDays < 0 || s.RenewalWindowDays > 365 {
		return FieldError("renewalWindowDays", "renewal window must be between 0 and 365 days")
	}
	if len([]rune(s.SenderName)) > maxSenderName || !displayName(s.SenderName) || strings.ContainsAny(s.SenderName, "<>\"") {
		return FieldError("senderName", "sender name must be at most %d characters, without control characters, line breaks, quotes or angle brackets", maxSenderName)
	}
	return nil
}

// displayName reports whether s can stand in a mail header or a letter as
// it is: UTF-8 with no control character (C0, DEL, C1 such as U+0085 NEL),
// no line or paragraph separator, and no invisible format character (bidi
// overrides, zero-width joiners), any of which would break or disguise the
// header.
func displayName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Cf) {
			return false
		}
	}
	return true
}

// Sender is the display name notices of t come from.
func (t Tenant) Sender() string {
	if t.Settings.SenderName != "" {
		return t.Settings.SenderName
	}
	return t.Name
}

// Duration is a time.Duration that reads and writes as "24h" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"24h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q is not valid (e.g. 30m, 24h)", s)
	}
	*d = Duration(v)
	return nil
}

var tenantIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

// ValidateTenantID checks the slug form: 3–32 lower-case letters, digits and
// inner hyphens, so that it is safe inside keys and tokens.
func ValidateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) || strings.Contains(id, "--") {
		return FieldError("tenant", "tenant id must be 3-32 lower-case letters, digits or single hyphens, starting with a letter")
	}
	return nil
}
