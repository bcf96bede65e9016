package apigw

import (
	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// userView is a user as the API shows it (apiwire.User): never the hash,
// the failure count or anything else that helps an attacker.
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
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
