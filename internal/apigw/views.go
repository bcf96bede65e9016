package apigw

import (
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// userView is a user as the API shows it: never the hash, the failure count
// or anything else that helps an attacker.
type userView struct {
	ID                 string     `json:"id"`
	Tenant             string     `json:"tenant"`
	Username           string     `json:"username"`
	Email              string     `json:"email,omitempty"`
	Barcode            string     `json:"barcode,omitempty"`
	PrimaryID          string     `json:"primaryId,omitempty"`
	Roles              []string   `json:"roles"`
	Status             string     `json:"status"`
	Queues             []string   `json:"queues"`
	CannedMessagePools []string   `json:"cannedMessagePools"`
	MustChangePassword bool       `json:"mustChangePassword"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
	LastLoginAt        *time.Time `json:"lastLoginAt,omitempty"`
	Version            int64      `json:"version"`
}

func viewOf(u accounts.User) userView {
	v := userView{
		ID: u.ID, Tenant: u.TenantID, Username: u.Username, Email: u.Email, Barcode: u.Barcode, PrimaryID: u.PrimaryID,
		Roles: nonNil(u.Roles), Status: string(u.Status), Queues: nonNil(u.Queues), CannedMessagePools: nonNil(u.CannedMessagePools),
		MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version,
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
