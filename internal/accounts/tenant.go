package accounts

import (
	"regexp"
	"strings"
	"time"
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

// Settings are the knobs a library sets for itself.
type Settings struct {
	PasswordPolicy PasswordPolicy `json:"passwordPolicy"`
}

// DefaultSettings are what a new tenant starts with.
func DefaultSettings() Settings {
	return Settings{PasswordPolicy: DefaultPasswordPolicy()}
}

// Validate checks every setting and names the first one at fault.
func (s Settings) Validate() error {
	return s.PasswordPolicy.Validate()
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
