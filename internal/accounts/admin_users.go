package accounts

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// CreateUserInput is a staff member's new account. Exactly one of Password
// and GeneratePassword is given.
type CreateUserInput struct {
	Username string
	Password string
	// PasswordConfirmation is the password typed a second time, as a
	// sign-up wizard asks; when given it must match Password.
	PasswordConfirmation string
	GeneratePassword     bool
	Email                string
	Barcode              string
	PrimaryID            string
	Roles                []string
	Queues               []string
	CannedMessagePools   []string
	// CopySettingsFrom names a user, by id or username, whose roles, queues
	// and canned-message pools the new account starts with (the
	// LibraryH3lp-style "copy another user's settings"); fields given here
	// win. A role that opens the staff API is never copied unseen: it must
	// be named in Roles too.
	CopySettingsFrom string
}

// CreatedUser is the new account and, when one was generated, its password:
// shown once, never stored or logged.
type CreatedUser struct {
	User              User
	GeneratedPassword string
}

// CreateUser adds an account to the caller's tenant. A password chosen by
// staff must be changed at first sign-in.
func (s *Service) CreateUser(ctx context.Context, c Caller, in CreateUserInput) (CreatedUser, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return CreatedUser{}, err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return CreatedUser{}, fmt.Errorf("create user: %w", err)
	}
	if in.CopySettingsFrom != "" {
		tmpl, err := s.templateUser(ctx, p, in.CopySettingsFrom)
		if err != nil {
			return CreatedUser{}, err
		}
		if in.Roles == nil {
			for _, r := range tmpl.Roles {
				if OpensStaffAPI(r) {
					return CreatedUser{}, FieldError("copySettingsFrom", "%s has the %s role, which opens the staff API, and roles are not copied unseen: name the new account's roles in roles (with %q to give it that role too)", tmpl.Username, r, r)
				}
			}
		}
		in.Roles = cmpOr(in.Roles, tmpl.Roles)
		in.Queues = cmpOr(in.Queues, tmpl.Queues)
		in.CannedMessagePools = cmpOr(in.CannedMessagePools, tmpl.CannedMessagePools)
	}
	u, err := s.newUser(t, in)
	if err != nil {
		return CreatedUser{}, err
	}
	if err := t.Settings.UsernameFormat.Check("username", u.Username); err != nil {
		return CreatedUser{}, err
	}
	if in.PasswordConfirmation != "" && in.GeneratePassword {
		return CreatedUser{}, FieldError("passwordConfirmation", "passwordConfirmation goes with password, not with generatePassword")
	}
	if in.PasswordConfirmation != "" && in.Password != in.PasswordConfirmation {
		// Neither is repeated: both are passwords.
		return CreatedUser{}, FieldError("passwordConfirmation", "the two passwords do not match")
	}
	password, generated, err := s.initialPassword(t, u, in.Password, in.GeneratePassword)
	if err != nil {
		return CreatedUser{}, err
	}
	u.MustChangePassword = t.Settings.StaffPasswordsMustChange
	fields := []string{}
	if in.CopySettingsFrom != "" {
		fields = append(fields, "copySettingsFrom")
	}
	if err := s.insertUser(ctx, &u, password, func(u User) *AuditEvent { return s.audit(ctx, p, ActionUserCreate, u, fields...) }); err != nil {
		return CreatedUser{}, err
	}
	s.log.InfoContext(ctx, "user created", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID, "generated_password", generated != "")
	return CreatedUser{User: u, GeneratedPassword: generated}, nil
}

// templateUser finds the account settings are copied from: by id, else by
// username, in p's tenant.
func (s *Service) templateUser(ctx context.Context, p Principal, ref string) (User, error) {
	u, err := s.targetUser(ctx, p, ref)
	if IsCode(err, CodeNotFound) {
		u, err = s.store.GetUserByUsername(ctx, p.TenantID, UsernameKey(ref))
	}
	if IsCode(err, CodeNotFound) {
		return User{}, FieldError("copySettingsFrom", "no user with this id or username to copy settings from")
	}
	if err != nil {
		return User{}, fmt.Errorf("copy settings: %w", err)
	}
	return u, nil
}

// newUser validates and normalises the account fields of in.
func (s *Service) newUser(t Tenant, in CreateUserInput) (User, error) {
	var u User
	var err error
	u.TenantID = t.ID
	if u.Username, err = normalizeUsername("username", in.Username); err != nil {
		return User{}, err
	}
	if u.Email, err = normalizeEmail("email", in.Email); err != nil {
		return User{}, err
	}
	if u.Barcode, err = normalizeIdentifier("barcode", "barcode", in.Barcode); err != nil {
		return User{}, err
	}
	if u.PrimaryID, err = normalizeIdentifier("primaryId", "primary ID", in.PrimaryID); err != nil {
		return User{}, err
	}
	if u.Roles, err = normalizeRoles("roles", in.Roles); err != nil {
		return User{}, err
	}
	if u.Queues, err = normalizeList("queues", in.Queues); err != nil {
		return User{}, err
	}
	if u.CannedMessagePools, err = normalizeList("cannedMessagePools", in.CannedMessagePools); err != nil {
		return User{}, err
	}
	u.Status = StatusActive
	return u, nil
}

// initialPassword checks a chosen password against the tenant policy, or
// generates one. It returns the normalised password to hash and, when
// generated, the same password to show once.
func (s *Service) initialPassword(t Tenant, u User, chosen string, generate bool) (password, generated string, err error) {
	switch {
	case generate && chosen != "":
		return "", "", FieldError("password", "give either password or generatePassword, not both")
	case generate:
		pw, err := GeneratePassword(t.Settings.PasswordPolicy)
		if err != nil {
			return "", "", Internal(err)
		}
		return pw, pw, nil
	case chosen == "":
		return "", "", FieldError("password", "password is required (or set generatePassword to true)")
	}
	normalized, err := t.Settings.PasswordPolicy.Check(chosen, AudienceStaff, contextWords(t, u.Username, u.Email, u.Barcode)...)
	if err != nil {
		return "", "", err
	}
	return normalized, "", nil
}

// cmpOr keeps a list the request gave (even an empty one) over the copied one.
func cmpOr(given, copied []string) []string {
	if given != nil {
		return given
	}
	return copied
}

// insertUser gives u an id, timestamps and a hash of password, and stores it
// with the audit event that audit builds for it.
func (s *Service) insertUser(ctx context.Context, u *User, password string, audit func(User) *AuditEvent) error {
	if err := s.stampNewUser(u, password); err != nil {
		return err
	}
	if err := s.store.CreateUser(ctx, *u, audit(*u)); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeConflict {
			return err
		}
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	return nil
}

// stampNewUser gives a user about to be stored its id, timestamps and the
// hash of password.
func (s *Service) stampNewUser(u *User, password string) error {
	id, err := newUserID(s.rand)
	if err != nil {
		return Internal(err)
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return Internal(fmt.Errorf("hash: %w", err))
	}
	now := s.now()
	u.ID, u.PasswordHash, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt, u.Version = id, hash, now, now, now, 1
	return nil
}

// GetUser returns one account of the caller's tenant; any other tenant's
// account is simply not found.
func (s *Service) GetUser(ctx context.Context, c Caller, id string) (User, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return User{}, err
	}
	if !ValidUserID(id) {
		return User{}, E(CodeNotFound, "user not found")
	}
	return s.store.GetUser(ctx, p.TenantID, id)
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// ListUsers pages through the caller's tenant by username.
func (s *Service) ListUsers(ctx context.Context, c Caller, q UserQuery) (UserPage, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return UserPage{}, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = defaultPageSize
	case q.Limit < 1 || q.Limit > maxPageSize:
		return UserPage{}, FieldError("limit", "limit must be between 1 and %d", maxPageSize)
	}
	if q.Status != "" && q.Status != StatusActive && q.Status != StatusInactive {
		return UserPage{}, FieldError("status", "status must be active or inactive")
	}
	if q.NoRole && q.Role != "" {
		return UserPage{}, FieldError("noRole", "give either role or noRole, not both")
	}
	if q.Role != "" {
		roles, err := normalizeRoles("role", []string{q.Role})
		if err != nil {
			return UserPage{}, err
		}
		q.Role = roles[0]
	}
	if n := utf8.RuneCountInString(q.Prefix); n > maxUsernameRunes {
		return UserPage{}, FieldError("prefix", "prefix must be at most %d characters (got %d)", maxUsernameRunes, n)
	}
	// The exact searches become DynamoDB keys, which have limits of their
	// own: refuse what no stored value could be, naming the parameter.
	if n := utf8.RuneCountInString(q.Email); n > maxEmailBytes {
		return UserPage{}, FieldError("email", "email must be at most %d characters (got %d)", maxEmailBytes, n)
	}
	for field, v := range map[string]string{"barcode": q.Barcode, "primaryId": q.PrimaryID} {
		if n := utf8.RuneCountInString(v); n > maxIdentifier {
			return UserPage{}, FieldError(field, "%s must be at most %d characters (got %d)", field, maxIdentifier, n)
		}
	}
	q.Prefix = UsernameKey(q.Prefix)
	if q.Email != "" || q.Barcode != "" || q.PrimaryID != "" {
		return s.findUsers(ctx, p, q)
	}
	return s.store.ListUsers(ctx, p.TenantID, q)
}

// findUsers answers the exact searches: by e-mail (several family members
// may share one), by barcode, by primary ID.
func (s *Service) findUsers(ctx context.Context, p Principal, q UserQuery) (UserPage, error) {
	var users []User
	var err error
	switch {
	case q.Email != "" && q.Barcode == "" && q.PrimaryID == "":
		users, err = s.store.FindUsersByEmail(ctx, p.TenantID, EmailKey(q.Email))
	case q.Barcode != "" && q.Email == "" && q.PrimaryID == "":
		var u User
		if u, err = s.store.GetUserByBarcode(ctx, p.TenantID, IdentifierKey(q.Barcode)); err == nil {
			users = []User{u}
		}
	case q.PrimaryID != "" && q.Email == "" && q.Barcode == "":
		var u User
		if u, err = s.store.GetUserByPrimaryID(ctx, p.TenantID, IdentifierKey(q.PrimaryID)); err == nil {
			users = []User{u}
		}
	default:
		return UserPage{}, FieldError("email", "search by one of email, barcode or primaryId at a time")
	}
	if IsCode(err, CodeNotFound) {
		return UserPage{Users: []User{}}, nil
	}
	if err != nil {
		return UserPage{}, fmt.Errorf("find users: %w", err)
	}
	return UserPage{Users: users}, nil
}
