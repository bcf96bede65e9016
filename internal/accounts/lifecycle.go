package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// UserPatch names the fields a staff edit changes; nil leaves a field as it
// is, an empty value clears it (a username cannot be cleared).
type UserPatch struct {
	Username           *string
	Email              *string
	Barcode            *string
	PrimaryID          *string
	Roles              *[]string
	Queues             *[]string
	CannedMessagePools *[]string
}

// UpdateUser applies a staff edit to the user at version. A stale version
// is a conflict, so concurrent edits never silently overwrite each other.
func (s *Service) UpdateUser(ctx context.Context, c Caller, id string, version int64, patch UserPatch) (User, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return User{}, err
	}
	if version <= 0 {
		return User{}, &Error{Code: CodePreconditionRequired, Field: "version", Message: "send the version you last read, so that concurrent edits are not lost"}
	}
	prev, err := s.targetUser(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if prev.Version != version {
		return User{}, &Error{Code: CodeConflict, Field: "version", Message: fmt.Sprintf("the user was changed meanwhile (now version %d); reload and retry", prev.Version)}
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	next, fields, err := applyPatch(t, prev, patch)
	if err != nil {
		return User{}, err
	}
	if len(fields) == 0 {
		return prev, nil
	}
	if prev.ID == p.UserID && prev.IsAdmin() && !next.IsAdmin() {
		// Dropping one's own admin role is allowed (another admin remains,
		// or the store refuses), but it ends this staff session's powers.
		s.log.InfoContext(ctx, "admin drops own admin role", "tenant", p.TenantID, "user_id", p.UserID)
	}
	next.Version, next.UpdatedAt = prev.Version+1, s.now()
	if err := s.store.UpdateUser(ctx, prev, next, s.audit(ctx, p, ActionUserUpdate, next, fields...)); err != nil {
		return User{}, s.storeErr("update user", prev.ID, err)
	}
	s.log.InfoContext(ctx, "user updated", "tenant", p.TenantID, "user_id", prev.ID, "by", p.UserID, "fields", strings.Join(fields, ","))
	return next, nil
}

// applyPatch validates patch against t's rules and returns the changed user
// and the names of the fields that really changed.
func applyPatch(t Tenant, prev User, patch UserPatch) (User, []string, error) {
	next := prev
	next.Roles, next.Queues, next.CannedMessagePools = slices.Clone(prev.Roles), slices.Clone(prev.Queues), slices.Clone(prev.CannedMessagePools)
	var fields []string
	var err error
	if patch.Username != nil {
		if next.Username, err = normalizeUsername("username", *patch.Username); err != nil {
			return User{}, nil, err
		}
		if next.Username != prev.Username {
			if UsernameKey(next.Username) != UsernameKey(prev.Username) {
				if err := t.Settings.UsernameFormat.Check("username", next.Username); err != nil {
					return User{}, nil, err
				}
			}
			fields = append(fields, "username")
		}
	}
	str := func(field string, v *string, cur *string, norm func(string, string) (string, error)) error {
		if v == nil {
			return nil
		}
		n, err := norm(field, *v)
		if err != nil {
			return err
		}
		if n != *cur {
			*cur = n
			fields = append(fields, field)
		}
		return nil
	}
	if err := str("email", patch.Email, &next.Email, normalizeEmail); err != nil {
		return User{}, nil, err
	}
	if EmailKey(next.Email) != EmailKey(prev.Email) {
		// What SES said was about the old address.
		next.EmailStatus, next.EmailStatusAt = "", time.Time{}
	}
	if err := str("barcode", patch.Barcode, &next.Barcode, func(f, v string) (string, error) { return normalizeIdentifier(f, "barcode", v) }); err != nil {
		return User{}, nil, err
	}
	if err := str("primaryId", patch.PrimaryID, &next.PrimaryID, func(f, v string) (string, error) { return normalizeIdentifier(f, "primary ID", v) }); err != nil {
		return User{}, nil, err
	}
	list := func(field string, v *[]string, cur *[]string, norm func(string, []string) ([]string, error)) error {
		if v == nil {
			return nil
		}
		n, err := norm(field, *v)
		if err != nil {
			return err
		}
		if !slices.Equal(n, *cur) {
			*cur = n
			fields = append(fields, field)
		}
		return nil
	}
	if err := list("roles", patch.Roles, &next.Roles, normalizeRoles); err != nil {
		return User{}, nil, err
	}
	if err := list("queues", patch.Queues, &next.Queues, normalizeList); err != nil {
		return User{}, nil, err
	}
	if err := list("cannedMessagePools", patch.CannedMessagePools, &next.CannedMessagePools, normalizeList); err != nil {
		return User{}, nil, err
	}
	return next, fields, nil
}

// targetUser reads a user of p's tenant named by id; a malformed id cannot
// name anyone and is simply not found.
func (s *Service) targetUser(ctx context.Context, p Principal, id string) (User, error) {
	if !ValidUserID(id) {
		return User{}, E(CodeNotFound, "user not found")
	}
	return s.store.GetUser(ctx, p.TenantID, id)
}

// storeErr passes coded errors through and wraps the rest with context.
func (s *Service) storeErr(op, id string, err error) error {
	if _, ok := err.(*Error); ok && ErrorCode(err) != CodeInternal {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}

// SetUserStatus deactivates or reactivates a user. Deactivation refuses
// sign-in at once and ends every session; reactivation restores access
// without touching the password. Neither may be done to oneself.
func (s *Service) SetUserStatus(ctx context.Context, c Caller, id string, status Status) (User, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return User{}, err
	}
	return s.setStatus(ctx, p, id, status)
}

func (s *Service) setStatus(ctx context.Context, p Principal, id string, status Status) (User, error) {
	if status != StatusActive && status != StatusInactive {
		return User{}, FieldError("status", "status must be active or inactive")
	}
	if id == p.UserID {
		return User{}, E(CodeForbidden, "you cannot change the status of your own account; ask another admin")
	}
	prev, err := s.targetUser(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if prev.Status == status {
		return prev, nil
	}
	next := prev
	next.Status, next.Version, next.UpdatedAt = status, prev.Version+1, s.now()
	action := ActionUserReactivate
	if status == StatusInactive {
		action = ActionUserDeactivate
	}
	if err := s.store.UpdateUser(ctx, prev, next, s.audit(ctx, p, action, next, "status")); err != nil {
		return User{}, s.storeErr("set status of", id, err)
	}
	if status == StatusInactive {
		if err := s.store.DeleteUserSessions(ctx, p.TenantID, id, ""); err != nil {
			// The user can no longer act (every request re-reads the
			// status); the sessions are left for the TTL sweep.
			s.log.ErrorContext(ctx, "revoke sessions of deactivated user", "tenant", p.TenantID, "user_id", id, "error", err.Error())
		}
	}
	s.log.InfoContext(ctx, "user status changed", "tenant", p.TenantID, "user_id", id, "by", p.UserID, "status", string(status))
	return next, nil
}

// DeleteUser removes a user for good. confirm must repeat the username
// (case-insensitively): deletion cannot be undone, and deactivation is the
// reversible choice.
func (s *Service) DeleteUser(ctx context.Context, c Caller, id, confirm string) error {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return err
	}
	u, err := s.targetUser(ctx, p, id)
	if err != nil {
		return err
	}
	if confirm == "" {
		return &Error{Code: CodePreconditionRequired, Field: "confirm", Message: fmt.Sprintf("deleting %s is permanent and cannot be undone; repeat the username in confirm to proceed, or deactivate the account instead (reversible)", u.Username)}
	}
	if UsernameKey(confirm) != UsernameKey(u.Username) {
		return &Error{Code: CodePreconditionRequired, Field: "confirm", Message: "confirm does not match the username of this account; nothing was deleted"}
	}
	return s.deleteUser(ctx, p, u)
}

func (s *Service) deleteUser(ctx context.Context, p Principal, u User) error {
	if u.ID == p.UserID {
		return E(CodeForbidden, "you cannot delete your own account; ask another admin")
	}
	if err := s.store.DeleteUser(ctx, u, s.audit(ctx, p, ActionUserDelete, u)); err != nil {
		return s.storeErr("delete user", u.ID, err)
	}
	s.log.InfoContext(ctx, "user deleted", "tenant", p.TenantID, "user_id", u.ID, "by", p.UserID)
	return nil
}

// Bulk actions (the LibraryH3lp-style staff list: tick users, trashcan,
// confirm).
const (
	BulkDelete     = "delete"
	BulkDeactivate = "deactivate"
	BulkReactivate = "reactivate"
	maxBulkIDs     = 1000
)

// BulkResult is the outcome for one user of a bulk action.
type BulkResult struct {
	ID       string
	Username string // empty when no user has the id
	OK       bool
	Code     Code
	Message  string
}

// BulkUsers applies one action to many users; one failure does not stop the
// others. Deleting needs confirm.
func (s *Service) BulkUsers(ctx context.Context, c Caller, action string, ids []string, confirm bool) ([]BulkResult, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return nil, err
	}
	switch action {
	case BulkDelete, BulkDeactivate, BulkReactivate:
	default:
		return nil, FieldError("action", "action must be delete, deactivate or reactivate")
	}
	if len(ids) == 0 {
		return nil, FieldError("ids", "ids must list at least one user id")
	}
	if len(ids) > maxBulkIDs {
		return nil, FieldError("ids", "at most %d ids per call (got %d); split the list", maxBulkIDs, len(ids))
	}
	if action == BulkDelete && !confirm {
		return nil, &Error{Code: CodePreconditionRequired, Field: "confirm", Message: fmt.Sprintf("deleting %d users is permanent and cannot be undone; send confirm: true to proceed, or use deactivate (reversible)", len(ids))}
	}
	// Each user's change is independent; a few at a time keeps 1,000 within
	// the API's 30 seconds without a burst on one partition.
	results := make([]BulkResult, len(ids))
	first := map[string]int{}
	sem := make(chan struct{}, bulkWorkers)
	var wg sync.WaitGroup
	for i, id := range ids {
		if _, dup := first[id]; dup {
			results[i] = BulkResult{ID: id, Code: CodeInvalid, Message: "listed twice; done once"}
			continue
		}
		first[id] = i
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = s.bulkOne(ctx, p, action, id)
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if j := first[id]; j != i {
			results[i].Username = results[j].Username
		}
	}
	return results, nil
}

const bulkWorkers = 16

// bulkOne applies action to one user. The result names the user, so that
// staff can read it (ids mean nothing to a person), even when the action is
// refused.
func (s *Service) bulkOne(ctx context.Context, p Principal, action, id string) BulkResult {
	u, err := s.targetUser(ctx, p, id)
	if err == nil {
		switch action {
		case BulkDelete:
			err = s.deleteUser(ctx, p, u)
		case BulkDeactivate:
			_, err = s.setStatus(ctx, p, id, StatusInactive)
		case BulkReactivate:
			_, err = s.setStatus(ctx, p, id, StatusActive)
		}
	}
	r := BulkResult{ID: id, Username: u.Username, OK: err == nil}
	if err != nil {
		r.Code, r.Message = ErrorCode(err), PublicMessage(err)
		if r.Code == CodeInternal || r.Code == CodeUnavailable {
			s.log.ErrorContext(ctx, "bulk action failed for one user", "tenant", p.TenantID, "user_id", id, "action", action, "error", err.Error())
		}
	}
	return r
}

// SuggestUsername returns the first free username of the tenant's format
// for a person: kpu-sadie-p, then kpu-sadie-p2, kpu-sadie-p3, …
func (s *Service) SuggestUsername(ctx context.Context, c Caller, first, last string) (string, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return "", err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return "", fmt.Errorf("suggest username: %w", err)
	}
	format := t.Settings.UsernameFormat
	if format == "" {
		format = "{first}-{last1}"
	}
	base, err := format.fill(first, last)
	if err != nil {
		return "", err
	}
	for i := 1; i <= 500; i++ {
		candidate := base
		if i > 1 {
			candidate = fmt.Sprintf("%s%d", base, i)
		}
		_, err := s.store.GetUserByUsername(ctx, p.TenantID, UsernameKey(candidate))
		if IsCode(err, CodeNotFound) {
			return candidate, nil
		}
		if err != nil {
			return "", fmt.Errorf("suggest username: %w", err)
		}
	}
	return "", E(CodeConflict, "no free username of the form %s among the first 500; choose one by hand", base)
}

// SettingsPatch changes some of a tenant's settings; nil leaves one as it is.
type SettingsPatch struct {
	PasswordMinLength           *int
	UsernameFormat              *string
	StaffPasswordsMustChange    *bool
	ImportedPasswordsMustChange *bool
	ResetLinkTTL                *Duration
	RecoveryLinkTTL             *Duration
	SenderName                  *string
	LinkingDisabled             *bool
	RenewalLimit                *int
	RenewalWindowDays           *int
}

// patchSetting sets *dst to *v when the patch has a value that differs,
// and reports whether it did.
func patchSetting[T comparable](v *T, dst *T) bool {
	if v == nil || *v == *dst {
		return false
	}
	*dst = *v
	return true
}

// trimmed is a patched string without surrounding space, as the setting
// stores it.
func trimmed[T ~string](v *string) *T {
	if v == nil {
		return nil
	}
	t := T(strings.TrimSpace(*v))
	return &t
}

// Settings returns the caller's tenant.
func (s *Service) Settings(ctx context.Context, c Caller) (Tenant, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Tenant{}, err
	}
	return s.store.GetTenant(ctx, p.TenantID)
}

// UpdateSettings changes the caller's tenant's settings; version, when not
// zero, must be the one the caller read.
func (s *Service) UpdateSettings(ctx context.Context, c Caller, version int64, patch SettingsPatch) (Tenant, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Tenant{}, err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("update settings: %w", err)
	}
	if version != 0 && version != t.Version {
		return Tenant{}, &Error{Code: CodeConflict, Field: "version", Message: fmt.Sprintf("the settings were changed meanwhile (now version %d); reload and retry", t.Version)}
	}
	next := t.Settings
	var fields []string
	// set applies one patched setting and names it when it changes.
	set := func(changed bool, name string) {
		if changed {
			fields = append(fields, name)
		}
	}
	set(patchSetting(patch.PasswordMinLength, &next.PasswordPolicy.MinLength), "passwordPolicy.minLength")
	set(patchSetting(trimmed[UsernameFormat](patch.UsernameFormat), &next.UsernameFormat), "usernameFormat")
	set(patchSetting(patch.StaffPasswordsMustChange, &next.StaffPasswordsMustChange), "staffPasswordsMustChange")
	set(patchSetting(patch.ImportedPasswordsMustChange, &next.ImportedPasswordsMustChange), "importedPasswordsMustChange")
	set(patchSetting(patch.ResetLinkTTL, &next.ResetLinkTTL), "resetLinkTtl")
	set(patchSetting(patch.RecoveryLinkTTL, &next.RecoveryLinkTTL), "recoveryLinkTtl")
	set(patchSetting(patch.LinkingDisabled, &next.LinkingDisabled), "linkingDisabled")
	set(patchSetting(patch.RenewalLimit, &next.RenewalLimit), "renewalLimit")
	set(patchSetting(patch.RenewalWindowDays, &next.RenewalWindowDays), "renewalWindowDays")
	set(patchSetting(trimmed[string](patch.SenderName), &next.SenderName), "senderName")
	if err := next.Validate(); err != nil {
		return Tenant{}, err
	}
	if len(fields) == 0 {
		return t, nil
	}
	t.Settings, t.Version, t.UpdatedAt = next, t.Version+1, s.now()
	ev := s.audit(ctx, p, ActionSettingsUpdate, User{}, fields...)
	if err := s.store.UpdateSettings(ctx, t, ev); err != nil {
		return Tenant{}, s.storeErr("update settings of", t.ID, err)
	}
	s.log.InfoContext(ctx, "settings updated", "tenant", t.ID, "by", p.UserID, "fields", strings.Join(fields, ","))
	return t, nil
}
