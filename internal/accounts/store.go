package accounts

import (
	"context"
	"time"
)

// The store ports are small and named for what the service asks of them; the
// DynamoDB adapter (internal/dynamostore) implements them all. Every method
// returns errors with codes: not_found for absent items, conflict for broken
// uniqueness or a stale version, unavailable for throttling.

// TenantStore keeps tenants.
type TenantStore interface {
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
}

// UserStore keeps users and their unique usernames, barcodes and primary IDs.
type UserStore interface {
	// CreateUser writes u and its uniqueness guards atomically; a taken
	// username, barcode or primary ID is a conflict naming the field.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, tenantID, userID string) (User, error)
	GetUserByUsername(ctx context.Context, tenantID, username string) (User, error)
	ListUsers(ctx context.Context, tenantID string, q UserQuery) (UserPage, error)
	// RecordLoginFailure counts one failed login and returns the new count.
	RecordLoginFailure(ctx context.Context, tenantID, userID string) (int, error)
	SetLockout(ctx context.Context, tenantID, userID string, until time.Time) error
	// RecordLoginSuccess clears the failure count and lockout and stamps the
	// login time; a non-empty upgradedHash replaces oldHash only if the
	// stored hash is still oldHash.
	RecordLoginSuccess(ctx context.Context, tenantID, userID string, at time.Time, oldHash, upgradedHash string) error
	// SetPassword replaces the hash if the user is still at version; it bumps
	// the version and clears any lockout.
	SetPassword(ctx context.Context, tenantID, userID string, version int64, hash string, mustChange bool, at time.Time) error
}

// SessionStore keeps sessions in their user's partition.
type SessionStore interface {
	PutSession(ctx context.Context, s Session) error
	// GetSessionAndUser reads both with strong consistency in one call.
	GetSessionAndUser(ctx context.Context, tenantID, userID, sessionID string) (Session, User, error)
	TouchSession(ctx context.Context, s Session) error
	DeleteSession(ctx context.Context, tenantID, userID, sessionID string) error
	// DeleteUserSessions revokes every session of the user but keep ("" for none).
	DeleteUserSessions(ctx context.Context, tenantID, userID, keep string) error
}

// Store is everything the service needs from persistence.
type Store interface {
	TenantStore
	UserStore
	SessionStore
}

// UserQuery selects users for the staff listing.
type UserQuery struct {
	Limit  int
	Cursor string // opaque, from a previous page of the same query
	Prefix string // username prefix, compared case-insensitively
	Role   string // only users holding this role
	NoRole bool   // only end users (no role at all)
	Status Status // only users in this status
}

// UserPage is one page of a listing, sorted by username.
type UserPage struct {
	Users      []User
	NextCursor string // empty on the last page
}
