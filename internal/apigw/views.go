package apigw

import (
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// userView is a user as the API shows it (apiwire.User): never the hash or
// anything else that helps an attacker. The sign-in lock state is for
// staff (selfView leaves it out).
type userView = apiwire.User

func viewOf(u accounts.User) userView {
	v := userView{
		ID: u.ID, Tenant: u.TenantID, Username: u.Username, Email: u.Email, Barcode: u.Barcode, PrimaryID: u.PrimaryID,
		Roles: nonNil(u.Roles), Status: string(u.Status), Queues: nonNil(u.Queues), CannedMessagePools: nonNil(u.CannedMessagePools),
		MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version,
		EmailStatus: string(u.EmailStatus),
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt
		v.LastLoginAt = &t
	}
	// The lock is shown while it holds by the deployment's clock; one
	// that ran out is history (the count says what is left of it).
	if u.LockedAt(time.Now()) {
		t := u.LockedUntil
		v.LockedUntil = &t
	}
	v.FailedLogins = u.FailedLogins
	return v
}

// selfView is what users see of their own account.
func selfView(u accounts.User) userView {
	v := viewOf(u)
	v.FailedLogins, v.LockedUntil = 0, nil
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
