package accounts

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Lockout: after lockoutThreshold consecutive failures an account is locked
// for a time that doubles with each further failure, capped at maxLockout.
// It is separate from deactivation and ends by itself.
const (
	lockoutThreshold = 5
	firstLockout     = 30 * time.Second
	maxLockout       = 15 * time.Minute
	// maxPasswordBytes bounds what reaches the KDF from an unauthenticated
	// caller.
	maxPasswordBytes = 4096
)

func lockoutFor(failures int) time.Duration {
	if failures < lockoutThreshold {
		return 0
	}
	d := firstLockout
	for i := lockoutThreshold; i < failures && d < maxLockout; i++ {
		d *= 2
	}
	return min(d, maxLockout)
}

// LoginInput is a sign-in attempt.
type LoginInput struct {
	Tenant   string
	Username string
	Password string
}

// LoginResult is a new session's token, shown once.
type LoginResult struct {
	Token              string
	ExpiresAt          time.Time
	MustChangePassword bool
}

// errBadLogin is the one answer for every failed sign-in, so that the
// response does not tell whether the tenant or account exists, is inactive or
// is locked.
func errBadLogin() error { return E(CodeUnauthorized, "invalid username or password") }

// Login checks credentials and opens a session.
func (s *Service) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	if in.Tenant == "" || in.Username == "" || in.Password == "" {
		return LoginResult{}, E(CodeInvalid, "tenant, username and password are required")
	}
	if len(in.Password) > maxPasswordBytes || len(in.Username) > 4*maxUsernameRunes {
		s.hasher.DummyVerify(in.Password[:min(len(in.Password), maxPasswordBytes)])
		return LoginResult{}, errBadLogin()
	}
	password := norm.NFKC.String(in.Password)
	u, err := s.loginCandidate(ctx, in.Tenant, in.Username)
	if err != nil {
		if IsCode(err, CodeNotFound) {
			s.hasher.DummyVerify(password)
			s.log.InfoContext(ctx, "login refused", "reason", "unknown account", "tenant", in.Tenant)
			return LoginResult{}, errBadLogin()
		}
		return LoginResult{}, err
	}
	now := s.now()
	if now.Before(u.LockedUntil) {
		s.hasher.DummyVerify(password)
		s.log.InfoContext(ctx, "login refused", "reason", "locked", "tenant", u.TenantID, "user_id", u.ID)
		return LoginResult{}, errBadLogin()
	}
	ok, rehash, err := s.verify(password, in.Password, u.PasswordHash)
	if err != nil {
		// A stored hash we cannot read is a data problem, not the caller's:
		// log it, answer as for a wrong password.
		s.log.ErrorContext(ctx, "stored password hash unreadable", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
	if !ok {
		s.recordFailure(ctx, u, now)
		return LoginResult{}, errBadLogin()
	}
	if u.Status != StatusActive {
		s.log.InfoContext(ctx, "login refused", "reason", "inactive", "tenant", u.TenantID, "user_id", u.ID)
		return LoginResult{}, errBadLogin()
	}
	upgraded := ""
	if rehash {
		if upgraded, err = s.hasher.Hash(password); err != nil {
			return LoginResult{}, Internal(fmt.Errorf("rehash: %w", err))
		}
	}
	if err := s.store.RecordLoginSuccess(ctx, u.TenantID, u.ID, now, u.PasswordHash, upgraded); err != nil {
		return LoginResult{}, fmt.Errorf("login %s: %w", u.ID, err)
	}
	token, sess, err := s.openSession(ctx, u, now)
	if err != nil {
		return LoginResult{}, err
	}
	s.log.InfoContext(ctx, "login", "tenant", u.TenantID, "user_id", u.ID, "hash_upgraded", upgraded != "")
	return LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, MustChangePassword: u.MustChangePassword}, nil
}

// loginCandidate finds the account a sign-in names; an unknown or malformed
// tenant is not found like an unknown username.
func (s *Service) loginCandidate(ctx context.Context, tenantID, username string) (User, error) {
	if ValidateTenantID(tenantID) != nil {
		return User{}, E(CodeNotFound, "no such account")
	}
	if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
		return User{}, err
	}
	return s.store.GetUserByUsername(ctx, tenantID, UsernameKey(username))
}

// verify checks the normalised password, then the raw one: hashes imported
// from other systems were made from whatever bytes the user typed there.
func (s *Service) verify(normalized, raw, encoded string) (ok, rehash bool, err error) {
	ok, rehash, err = s.hasher.Verify(normalized, encoded)
	if ok || err != nil || normalized == raw {
		return ok, rehash, err
	}
	ok, _, err = s.hasher.Verify(raw, encoded)
	// Matching on the raw form means the stored hash is not of the
	// normalised password: replace it.
	return ok, ok, err
}

func (s *Service) recordFailure(ctx context.Context, u User, now time.Time) {
	n, err := s.store.RecordLoginFailure(ctx, u.TenantID, u.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "record login failure", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
		return
	}
	s.log.InfoContext(ctx, "login refused", "reason", "wrong password", "tenant", u.TenantID, "user_id", u.ID, "failures", n)
	if d := lockoutFor(n); d > 0 {
		if err := s.store.SetLockout(ctx, u.TenantID, u.ID, now.Add(d)); err != nil {
			s.log.ErrorContext(ctx, "set lockout", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
			return
		}
		s.log.WarnContext(ctx, "account locked", "tenant", u.TenantID, "user_id", u.ID, "failures", n, "for", d.String())
	}
}

func (s *Service) openSession(ctx context.Context, u User, now time.Time) (string, Session, error) {
	token, err := newToken(s.rand, u.TenantID, u.ID)
	if err != nil {
		return "", Session{}, Internal(err)
	}
	sess := Session{
		TenantID: u.TenantID, UserID: u.ID, ID: SessionIDOf(token),
		CreatedAt: now, LastSeenAt: now,
		ExpiresAt:     now.Add(s.cfg.SessionAbsoluteTTL),
		IdleExpiresAt: now.Add(s.cfg.SessionIdleTTL),
	}
	if sess.IdleExpiresAt.After(sess.ExpiresAt) {
		sess.IdleExpiresAt = sess.ExpiresAt
	}
	if err := s.store.PutSession(ctx, sess); err != nil {
		return "", Session{}, fmt.Errorf("open session for %s: %w", u.ID, err)
	}
	return token, sess, nil
}

// Authorization is what the authorizer hands API Gateway for a valid token.
type Authorization struct {
	Caller             Caller
	Roles              []string
	MustChangePassword bool
}

// Authorize checks a bearer token for the API Gateway authorizer: the session
// must exist and be unexpired and its user active. It slides the idle expiry.
func (s *Service) Authorize(ctx context.Context, rawToken string) (Authorization, error) {
	tok, err := ParseToken(rawToken)
	if err != nil {
		return Authorization{}, err
	}
	c := Caller{TenantID: tok.TenantID, UserID: tok.UserID, SessionID: SessionIDOf(rawToken)}
	sess, u, err := s.store.GetSessionAndUser(ctx, c.TenantID, c.UserID, c.SessionID)
	if IsCode(err, CodeNotFound) {
		return Authorization{}, E(CodeUnauthorized, "invalid or expired token")
	}
	if err != nil {
		return Authorization{}, fmt.Errorf("authorize: %w", err)
	}
	now := s.now()
	if sess.Expired(now) || u.Status != StatusActive {
		return Authorization{}, E(CodeUnauthorized, "invalid or expired token")
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchEvery {
		sess.LastSeenAt = now
		sess.IdleExpiresAt = minTime(now.Add(s.cfg.SessionIdleTTL), sess.ExpiresAt)
		if err := s.store.TouchSession(ctx, sess); err != nil && !IsCode(err, CodeNotFound) {
			// The session is valid; failing to slide it only shortens it.
			s.log.WarnContext(ctx, "touch session", "tenant", c.TenantID, "user_id", c.UserID, "error", err.Error())
		}
	}
	return Authorization{Caller: c, Roles: u.Roles, MustChangePassword: u.MustChangePassword}, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, c Caller) error {
	p, err := s.principal(ctx, c, accessSelf)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSession(ctx, p.TenantID, p.UserID, p.SessionID); err != nil && !IsCode(err, CodeNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	s.log.InfoContext(ctx, "logout", "tenant", p.TenantID, "user_id", p.UserID)
	return nil
}

// Me returns the caller's own account.
func (s *Service) Me(ctx context.Context, c Caller) (User, error) {
	p, err := s.principal(ctx, c, accessSelf)
	if err != nil {
		return User{}, err
	}
	return s.store.GetUser(ctx, p.TenantID, p.UserID)
}

// ChangePasswordInput is a user's own password change.
type ChangePasswordInput struct {
	CurrentPassword string
	NewPassword     string
}

// ChangePassword replaces the caller's password after checking the current
// one and the tenant policy, clears must-change, and revokes every other
// session of the user.
func (s *Service) ChangePassword(ctx context.Context, c Caller, in ChangePasswordInput) error {
	p, err := s.principal(ctx, c, accessSelf)
	if err != nil {
		return err
	}
	if in.CurrentPassword == "" {
		return FieldError("currentPassword", "current password is required")
	}
	if in.NewPassword == "" {
		return FieldError("newPassword", "new password is required")
	}
	u, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	now := s.now()
	if now.Before(u.LockedUntil) {
		return E(CodeForbidden, "too many failed attempts; try again later")
	}
	if len(in.CurrentPassword) > maxPasswordBytes {
		return FieldError("currentPassword", "current password is incorrect")
	}
	ok, _, err := s.verify(norm.NFKC.String(in.CurrentPassword), in.CurrentPassword, u.PasswordHash)
	if err != nil {
		return Internal(fmt.Errorf("verify current password of %s: %w", u.ID, err))
	}
	if !ok {
		s.recordFailure(ctx, u, now)
		return FieldError("currentPassword", "current password is incorrect")
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	normalized, err := t.Settings.PasswordPolicy.Check(in.NewPassword, AudienceSelf, contextWords(t, u.Username, u.Email, u.Barcode)...)
	if err != nil {
		return renameField(err, "newPassword")
	}
	if same, _, _ := s.hasher.Verify(normalized, u.PasswordHash); same {
		return FieldError("newPassword", "new password must differ from the current one")
	}
	hash, err := s.hasher.Hash(normalized)
	if err != nil {
		return Internal(fmt.Errorf("hash: %w", err))
	}
	if err := s.store.SetPassword(ctx, u.TenantID, u.ID, u.Version, hash, false, now, nil); err != nil {
		return fmt.Errorf("change password of %s: %w", u.ID, err)
	}
	if err := s.store.DeleteUserSessions(ctx, u.TenantID, u.ID, p.SessionID); err != nil {
		return fmt.Errorf("revoke other sessions of %s: %w", u.ID, err)
	}
	s.log.InfoContext(ctx, "password changed", "tenant", u.TenantID, "user_id", u.ID, "by", "self")
	return nil
}

// renameField points a coded error at the request field the caller used.
func renameField(err error, field string) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Field = field
		return &c
	}
	return err
}
