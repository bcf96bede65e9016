package accounts

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// BootstrapInput creates a tenant and its first admin; it is the operator's
// act, outside the API.
type BootstrapInput struct {
	TenantID      string
	TenantName    string
	AdminUsername string
	AdminPassword string // empty: one is generated and returned once
	AdminEmail    string
}

// BootstrapResult says what was created. Bootstrapping is idempotent: an
// existing tenant or admin is kept as it is.
type BootstrapResult struct {
	TenantCreated     bool
	AdminCreated      bool
	AdminID           string
	GeneratedPassword string
}

// Bootstrap creates the tenant if missing and its admin if missing. The
// admin's own chosen password does not have to be changed at first sign-in;
// a generated one does not either, since only the operator has seen it.
//
// Nothing is written unless all of it can be: the admin's details and
// password are checked first, and a new tenant is stored with its admin in
// one write, so a refused password never leaves a library nobody can sign
// in to.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	if err := ValidateTenantID(in.TenantID); err != nil {
		return BootstrapResult{}, err
	}
	res, err := s.bootstrap(ctx, in)
	if PublicField(err) == "tenant" && IsCode(err, CodeConflict) {
		// Another run created the tenant since we looked: it now exists,
		// and what is left is its admin, if that run did not create one.
		res, err = s.bootstrap(ctx, in)
	}
	return res, err
}

func (s *Service) bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	var res BootstrapResult
	t, err := s.store.GetTenant(ctx, in.TenantID)
	switch {
	case IsCode(err, CodeNotFound):
		return s.createTenant(ctx, in)
	case err != nil:
		return res, fmt.Errorf("get tenant %s: %w", in.TenantID, err)
	}
	// The tenant exists; an admin it lacks (a tenant made by hand, or by an
	// older version that wrote the two apart) is added now.
	existing, err := s.store.GetUserByUsername(ctx, t.ID, UsernameKey(in.AdminUsername))
	if err == nil {
		res.AdminID = existing.ID
		return res, nil
	}
	if !IsCode(err, CodeNotFound) {
		return res, fmt.Errorf("find admin: %w", err)
	}
	u, password, generated, err := s.bootstrapAdmin(t, in)
	if err != nil {
		return res, err
	}
	if err := s.insertUser(ctx, &u, password, func(u User) *AuditEvent { return s.audit(ctx, s.operator(t), ActionTenantBootstrap, u) }); err != nil {
		return res, err
	}
	res.AdminCreated, res.AdminID, res.GeneratedPassword = true, u.ID, generated
	s.log.InfoContext(ctx, "tenant bootstrapped", "tenant", t.ID, "admin_id", u.ID, "tenant_created", false)
	return res, nil
}

// createTenant stores a new tenant and its admin together.
func (s *Service) createTenant(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	name := strings.TrimSpace(in.TenantName)
	if name == "" {
		name = in.TenantID
	}
	if utf8.RuneCountInString(name) > maxTenantName || !displayName(name) {
		// The library's name heads every notice and is the sender's name
		// unless one is set.
		return BootstrapResult{}, FieldError("name", "library name must be at most %d characters, without control characters or line breaks", maxTenantName)
	}
	now := s.now()
	t := Tenant{ID: in.TenantID, Name: name, Settings: DefaultSettings(), CreatedAt: now, UpdatedAt: now, Version: 1}
	u, password, generated, err := s.bootstrapAdmin(t, in)
	if err != nil {
		return BootstrapResult{}, err
	}
	if err := s.stampNewUser(&u, password); err != nil {
		return BootstrapResult{}, err
	}
	if err := s.store.CreateTenantWithAdmin(ctx, t, u, s.audit(ctx, s.operator(t), ActionTenantBootstrap, u)); err != nil {
		if IsCode(err, CodeConflict) {
			return BootstrapResult{}, err
		}
		return BootstrapResult{}, fmt.Errorf("create tenant %s with admin %s: %w", t.ID, u.Username, err)
	}
	s.log.InfoContext(ctx, "tenant bootstrapped", "tenant", t.ID, "admin_id", u.ID, "tenant_created", true)
	return BootstrapResult{TenantCreated: true, AdminCreated: true, AdminID: u.ID, GeneratedPassword: generated}, nil
}

// bootstrapAdmin checks the first admin's details and password against the
// tenant's rules, writing nothing. It returns the admin, the password to
// hash and, when generated, the password to show once.
func (s *Service) bootstrapAdmin(t Tenant, in BootstrapInput) (u User, password, generated string, err error) {
	u, err = s.newUser(t, CreateUserInput{Username: in.AdminUsername, Email: in.AdminEmail, Roles: []string{RoleAdmin}})
	if err != nil {
		return User{}, "", "", err
	}
	password, generated, err = s.initialPassword(t, u, in.AdminPassword, in.AdminPassword == "")
	if err != nil {
		return User{}, "", "", renameField(err, "adminPassword")
	}
	return u, password, generated, nil
}

// operator is the actor of the operator's command line in the audit trail.
func (s *Service) operator(t Tenant) Principal {
	return Principal{TenantID: t.ID, UserID: OperatorActor, Username: OperatorActor}
}
