package accounts

import (
	"context"
	"time"
)

// The store ports are small and named for what the service asks of them; the
// DynamoDB adapter (internal/dynamostore) implements them all. Every method
// returns errors with codes: not_found for absent items, conflict for broken
// uniqueness or a stale version, unavailable for throttling.
//
// A non-nil *AuditEvent handed to a write is stored in the same transaction
// as the change: a staff action and its trail stand or fall together.

// TenantStore keeps tenants.
type TenantStore interface {
	CreateTenant(ctx context.Context, t Tenant) error
	// CreateTenantWithAdmin stores a new tenant and its first admin (with
	// the admin's guards and audit) atomically: both or neither. An
	// existing tenant is a conflict on "tenant", a taken username one on
	// "username".
	CreateTenantWithAdmin(ctx context.Context, t Tenant, admin User, audit *AuditEvent) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// UpdateSettings stores t.Settings if the tenant is still at
	// t.Version-1, and sets t.Version and t.UpdatedAt.
	UpdateSettings(ctx context.Context, t Tenant, audit *AuditEvent) error
}

// UserStore keeps users and their unique usernames, barcodes and primary IDs.
//
// The store also keeps a count of each tenant's active admins: CreateUser,
// UpdateUser and DeleteUser refuse with a conflict on "roles" a change that
// would leave the tenant without one.
type UserStore interface {
	// CreateUser writes u and its uniqueness guards atomically; a taken
	// username, barcode or primary ID is a conflict naming the field.
	CreateUser(ctx context.Context, u User, audit *AuditEvent) error
	GetUser(ctx context.Context, tenantID, userID string) (User, error)
	GetUserByUsername(ctx context.Context, tenantID, usernameKey string) (User, error)
	// UserIDByUsername reads only the username's guard: one read, where a
	// bulk import needs just to know whether a name is taken.
	UserIDByUsername(ctx context.Context, tenantID, usernameKey string) (string, error)
	GetUserByBarcode(ctx context.Context, tenantID, barcode string) (User, error)
	GetUserByPrimaryID(ctx context.Context, tenantID, primaryID string) (User, error)
	FindUsersByEmail(ctx context.Context, tenantID, email string) ([]User, error)
	ListUsers(ctx context.Context, tenantID string, q UserQuery) (UserPage, error)
	// UpdateUser replaces prev by next if the stored user is still at
	// prev.Version, moving uniqueness guards for changed identifiers.
	UpdateUser(ctx context.Context, prev, next User, audit *AuditEvent) error
	// DeleteUser removes the user at u.Version, its guards, and everything
	// in its partition (sessions, reset tokens).
	DeleteUser(ctx context.Context, u User, audit *AuditEvent) error
	// Sign-in failures are counted through LoginCounterStore (lockout.go).
	LoginCounterStore
	// RecordLoginSuccess clears the failure count and lockout and stamps the
	// login time; a non-empty upgradedHash replaces oldHash only if the
	// stored hash is still oldHash.
	RecordLoginSuccess(ctx context.Context, tenantID, userID string, at time.Time, oldHash, upgradedHash string) error
	// SetPassword replaces the hash if the user is still at version; it bumps
	// the version and the credential epoch and clears any lockout.
	SetPassword(ctx context.Context, tenantID, userID string, version int64, hash string, mustChange bool, at time.Time, audit *AuditEvent) error
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

// ResetTokenStore keeps password-reset links, hashed, in the user's partition.
type ResetTokenStore interface {
	PutResetToken(ctx context.Context, t ResetToken, audit *AuditEvent) error
	GetResetToken(ctx context.Context, tenantID, userID, id string) (ResetToken, error)
	// CompleteReset uses a link, in one transaction: it deletes the token
	// (which must still exist: a link works once) and sets hash on the
	// user if the user is active and still at the token's credential
	// epoch, clearing must-change, failures and lock and moving the epoch
	// on. Either condition failing is not found.
	CompleteReset(ctx context.Context, rt ResetToken, hash string, at time.Time) error
	DeleteUserResetTokens(ctx context.Context, tenantID, userID string) error
}

// AuditStore lists the trail that writes leave.
type AuditStore interface {
	ListAudit(ctx context.Context, tenantID string, q AuditQuery) (AuditPage, error)
}

// Store is everything the service needs from persistence.
type Store interface {
	TenantStore
	UserStore
	SessionStore
	ResetTokenStore
	AuditStore
	JobStore
	SetStore
	LetterStore
	NoticeStore
	ResetStore
	JobSweepStore
	RecoveryStore
	LinkStore
}

// UserQuery selects users for the staff listing. Email, Barcode and
// PrimaryID are exact lookups (the LibraryH3lp-style user search) and ignore
// the rest.
type UserQuery struct {
	Limit     int
	Cursor    string // opaque, from a previous page of the same query
	Prefix    string // username prefix, compared case-insensitively
	Role      string // only users holding this role
	NoRole    bool   // only end users (no role at all)
	Status    Status // only users in this status
	Email     string
	Barcode   string
	PrimaryID string
}

// UserPage is one page of a listing, sorted by username.
type UserPage struct {
	Users      []User
	NextCursor string // empty on the last page
}
