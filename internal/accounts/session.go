package accounts

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Session is a signed-in user's bearer token as the store keeps it: only the
// SHA-256 of the token is stored, so a leaked table cannot be replayed.
type Session struct {
	TenantID      string
	UserID        string
	ID            string // hex SHA-256 of the whole token
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time // absolute: the session ends then whatever happens
	IdleExpiresAt time.Time // sliding: pushed forward while the session is used
}

// Expired reports whether s may no longer be used at now.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt)
}

// tokenSecretBytes is the random part of a token: 256 bits, well above the
// 128-bit floor.
const tokenSecretBytes = 32

var (
	userIDPattern      = regexp.MustCompile(`^[a-z2-7]{26}$`)
	tokenSecretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	sessionIDPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

var userIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUserID returns 128 random bits as 26 lower-case base32 characters.
func newUserID(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("user id: %w", err)
	}
	return strings.ToLower(userIDEncoding.EncodeToString(b)), nil
}

// ValidUserID reports whether id has the form of a user id; anything else
// cannot name a user and is answered as not found without a lookup.
func ValidUserID(id string) bool { return userIDPattern.MatchString(id) }

// Token is "<tenant>.<user id>.<secret>". The tenant and user id are not
// secret; carrying them lets the store find the session in the user's own
// partition, so revoking every session of a user is one query.
type Token struct {
	TenantID string
	UserID   string
	secret   string
}

func newToken(r io.Reader, tenantID, userID string) (string, error) {
	b := make([]byte, tokenSecretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tenantID + "." + userID + "." + base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseToken splits a bearer token; any malformed token is unauthorized.
func ParseToken(raw string) (Token, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || ValidateTenantID(parts[0]) != nil || !ValidUserID(parts[1]) || !tokenSecretPattern.MatchString(parts[2]) {
		return Token{}, E(CodeUnauthorized, "invalid or expired token")
	}
	return Token{TenantID: parts[0], UserID: parts[1], secret: parts[2]}, nil
}

// SessionIDOf returns the stored identifier of a token.
func SessionIDOf(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Caller is what the authorizer vouched for. Handlers hand it to the service,
// which re-reads the session and user on every call: the authorizer's cache
// never decides whether a revoked session may still act.
type Caller struct {
	TenantID  string
	UserID    string
	SessionID string
}

func (c Caller) valid() bool {
	return ValidateTenantID(c.TenantID) == nil && ValidUserID(c.UserID) && sessionIDPattern.MatchString(c.SessionID)
}

// Principal is an authenticated caller with the user's current state.
type Principal struct {
	TenantID           string
	UserID             string
	SessionID          string
	Username           string
	Roles              []string
	MustChangePassword bool
}

// IsAdmin reports whether p may use the staff API.
func (p Principal) IsAdmin() bool {
	for _, r := range p.Roles {
		if r == RoleAdmin {
			return true
		}
	}
	return false
}
