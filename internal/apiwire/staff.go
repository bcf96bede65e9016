package apiwire

import "time"

// User is an account as the API shows it: never the hash, the failure count
// or anything else that helps an attacker.
type User struct {
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
	// EmailStatus is "bounced" or "complained" when SES reported so about
	// Email (notices to it are then skipped); absent otherwise.
	EmailStatus string `json:"emailStatus,omitempty"`
	// FailedLogins is the count of consecutive failed sign-ins (it decays
	// after a quiet hour), LockedUntil the end of a sign-in lock while one
	// holds: 9999-12-31 means until staff unlock the account
	// (POST /v1/admin/users/{id}/unlock) or the user completes a reset
	// link. Staff views only.
	FailedLogins int        `json:"failedLogins,omitempty"`
	LockedUntil  *time.Time `json:"lockedUntil,omitempty"`
}

// UserList is GET /v1/admin/users: a page sorted by username.
type UserList struct {
	Users      []User `json:"users"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// CreateUserRequest is POST /v1/admin/users. A list left nil (absent)
// is copied from CopySettingsFrom, when given; an empty one means none.
type CreateUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// PasswordConfirmation is the password typed a second time; when sent
	// it must match Password.
	PasswordConfirmation string   `json:"passwordConfirmation,omitempty"`
	GeneratePassword     bool     `json:"generatePassword,omitempty"`
	Email                string   `json:"email,omitempty"`
	Barcode              string   `json:"barcode,omitempty"`
	PrimaryID            string   `json:"primaryId,omitempty"`
	Roles                []string `json:"roles"`
	Queues               []string `json:"queues"`
	CannedMessagePools   []string `json:"cannedMessagePools"`
	// CopySettingsFrom names the user (by id or username) whose roles,
	// queues and canned-message pools the new account starts with.
	CopySettingsFrom string `json:"copySettingsFrom,omitempty"`
}

// CreateUserResponse is the answer to POST /v1/admin/users; a generated
// password is in it once and nowhere else.
type CreateUserResponse struct {
	User              User   `json:"user"`
	GeneratedPassword string `json:"generatedPassword,omitempty"`
}

// UserStatusResponse is the answer to deactivating or reactivating a user.
type UserStatusResponse struct {
	Message string `json:"message"`
	User    User   `json:"user"`
}

// Set is an itemized set of users, as built by a set import.
type Set struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Members   int       `json:"members"`
	ImportID  string    `json:"importId"`
	CreatedAt time.Time `json:"createdAt"`
}

// SetMember is one user of a set.
type SetMember struct {
	UserID    string `json:"userId"`
	Username  string `json:"username"`
	PrimaryID string `json:"primaryId,omitempty"`
	Row       int    `json:"row"` // the file row that added the user
}

// SetList is GET /v1/admin/sets: newest first.
type SetList struct {
	Sets []Set `json:"sets"`
}

// SetDetail is GET /v1/admin/sets/{id}: the set and a page of its members.
type SetDetail struct {
	Set        Set         `json:"set"`
	Members    []SetMember `json:"members"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// AuditEvent is one event of the trail: names of changed fields, never
// their values.
type AuditEvent struct {
	ID             string    `json:"id"`
	At             time.Time `json:"at"`
	ActorID        string    `json:"actorId"`
	ActorUsername  string    `json:"actorUsername"`
	Action         string    `json:"action"`
	TargetID       string    `json:"targetId,omitempty"`
	TargetUsername string    `json:"targetUsername,omitempty"`
	RequestID      string    `json:"requestId"`
	Fields         []string  `json:"fields"`
	Detail         string    `json:"detail,omitempty"`
}

// AuditList is GET /v1/admin/audit as JSON: newest first.
type AuditList struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// PasswordPolicy is the part of the library's password rules staff set.
type PasswordPolicy struct {
	MinLength int `json:"minLength"`
}

// Settings are a library's settings as staff see them.
type Settings struct {
	Tenant                      string         `json:"tenant"`
	Name                        string         `json:"name"`
	PasswordPolicy              PasswordPolicy `json:"passwordPolicy"`
	UsernameFormat              string         `json:"usernameFormat"`
	UsernameFormatExample       string         `json:"usernameFormatExample,omitempty"`
	StaffPasswordsMustChange    bool           `json:"staffPasswordsMustChange"`
	ImportedPasswordsMustChange bool           `json:"importedPasswordsMustChange"`
	ResetLinkTTL                string         `json:"resetLinkTtl"`
	RecoveryLinkTTL             string         `json:"recoveryLinkTtl"`
	SenderName                  string         `json:"senderName"`
	LinkingDisabled             bool           `json:"linkingDisabled"`
	RenewalLimit                int            `json:"renewalLimit"`
	RenewalWindowDays           int            `json:"renewalWindowDays"`
	Version                     int64          `json:"version"`
}

// SettingsPatch is PATCH /v1/admin/settings: an absent (nil) setting is
// left as it is.
type SettingsPatch struct {
	Version                     *int64               `json:"version,omitempty"`
	PasswordPolicy              *PasswordPolicyPatch `json:"passwordPolicy,omitempty"`
	UsernameFormat              *string              `json:"usernameFormat,omitempty"`
	StaffPasswordsMustChange    *bool                `json:"staffPasswordsMustChange,omitempty"`
	ImportedPasswordsMustChange *bool                `json:"importedPasswordsMustChange,omitempty"`
	// ResetLinkTTL is a duration such as 30m or 24h. It is a string on the
	// wire so that a bad value is refused as a field error naming it.
	ResetLinkTTL *string `json:"resetLinkTtl,omitempty"`
	// RecoveryLinkTTL is the lifetime of links patrons ask for themselves
	// (15m to 24h).
	RecoveryLinkTTL *string `json:"recoveryLinkTtl,omitempty"`
	SenderName      *string `json:"senderName,omitempty"`
	// LinkingDisabled turns linked accounts off (and their links inert).
	LinkingDisabled   *bool `json:"linkingDisabled,omitempty"`
	RenewalLimit      *int  `json:"renewalLimit,omitempty"`
	RenewalWindowDays *int  `json:"renewalWindowDays,omitempty"`
}

// PasswordPolicyPatch changes the password rules staff set.
type PasswordPolicyPatch struct {
	MinLength *int `json:"minLength,omitempty"`
}
