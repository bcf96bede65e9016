package accounts

import (
	"context"
	"fmt"
	"strings"
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
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	var res BootstrapResult
	if err := ValidateTenantID(in.TenantID); err != nil {
		return res, err
	}
	name := strings.TrimSpace(in.TenantName)
	if name == "" {
		name = in.TenantID
	}
	now := s.now()
	t, err := s.store.GetTenant(ctx, in.TenantID)
	switch {
	case IsCode(err, CodeNotFound):
		t = Tenant{ID: in.TenantID, Name: name, Settings: DefaultSettings(), CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := s.store.CreateTenant(ctx, t); err != nil && !IsCode(err, CodeConflict) {
			return res, fmt.Errorf("create tenant %s: %w", in.TenantID, err)
		}
		res.TenantCreated = true
	case err != nil:
		return res, fmt.Errorf("get tenant %s: %w", in.TenantID, err)
	}
	existing, err := s.store.GetUserByUsername(ctx, t.ID, UsernameKey(in.AdminUsername))
	if err == nil {
		res.AdminID = existing.ID
		return res, nil
	}
	if !IsCode(err, CodeNotFound) {
		return res, fmt.Errorf("find admin: %w", err)
	}
	u, err := s.newUser(t, CreateUserInput{Username: in.AdminUsername, Email: in.AdminEmail, Roles: []string{RoleAdmin}})
	if err != nil {
		return res, err
	}
	password, generated, err := s.initialPassword(t, u, in.AdminPassword, in.AdminPassword == "")
	if err != nil {
		return res, renameField(err, "adminPassword")
	}
	operator := Principal{TenantID: t.ID, UserID: OperatorActor, Username: OperatorActor}
	if err := s.insertUser(ctx, &u, password, func(u User) *AuditEvent { return s.audit(ctx, operator, ActionTenantBootstrap, u) }); err != nil {
		return res, err
	}
	res.AdminCreated, res.AdminID, res.GeneratedPassword = true, u.ID, generated
	s.log.InfoContext(ctx, "tenant bootstrapped", "tenant", t.ID, "admin_id", u.ID, "tenant_created", res.TenantCreated)
	return res, nil
}
