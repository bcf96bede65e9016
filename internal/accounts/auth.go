package accounts

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Sign-in source throttle: beyond loginSourceLimit failed attempts in
// loginSourceWindow from one address (per tenant), sign-in answers
// too_many_requests before any account is looked at. It limits guessing
// and password spraying across accounts, which the per-account lockout
// cannot see, without locking the victims.
const (
	loginSourceLimit  = 100
	loginSourceWindow = 15 * time.Minute
)

// LoginInput is a sign-in attempt.
type LoginInput struct {
	Tenant   string
	Username string
	Password string
	// SourceIP is the caller's address as the edge saw it; empty (the CLI,
	// tests) skips the source throttle.
	SourceIP string
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

// Login checks credentials and opens a session. Every attempt is counted
// on the account — or, for a name no account has, on that name's ghost
// counter — before the password is checked, with the same store calls
// either way, so that neither the answer nor its timing tells which
// names exist.
func (s *Service) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	if in.Tenant == "" || in.Username == "" || in.Password == "" {
		return LoginResult{}, E(CodeInvalid, "tenant, username and password are required")
	}
	if len(in.Password) > maxPasswordBytes || len(in.Username) > 4*maxUsernameRunes {
		s.hasher.DummyVerify(in.Password[:min(len(in.Password), maxPasswordBytes)])
		return LoginResult{}, errBadLogin()
	}
	password := norm.NFKC.String(in.Password)
	if err := s.checkLoginSource(ctx, in.Tenant, in.SourceIP); err != nil {
		return LoginResult{}, err
	}
	cand, err := s.loginCandidate(ctx, in.Tenant, in.Username)
	if err != nil {
		return LoginResult{}, err
	}
	if cand.ref.TenantID == "" {
		// A malformed tenant: nothing to count under.
		s.hasher.DummyVerify(password)
		s.countSourceFailure(ctx, in.Tenant, in.SourceIP)
		return LoginResult{}, errBadLogin()
	}
	counted, locked, err := s.reserve(ctx, cand.ref, cand.counter, true)
	if err != nil {
		s.hasher.DummyVerify(password)
		if IsCode(err, CodeUnavailable) {
			return LoginResult{}, err
		}
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if cand.user == nil {
		s.hasher.DummyVerify(password)
		s.log.InfoContext(ctx, "login refused", "reason", "unknown account", "tenant", in.Tenant, "locked", locked || s.lockout().locks(counted.Failures))
		s.countSourceFailure(ctx, in.Tenant, in.SourceIP)
		return LoginResult{}, errBadLogin()
	}
	u := *cand.user
	if locked {
		s.hasher.DummyVerify(password)
		s.log.InfoContext(ctx, "login refused", "reason", "locked", "tenant", u.TenantID, "user_id", u.ID)
		s.countSourceFailure(ctx, in.Tenant, in.SourceIP)
		return LoginResult{}, errBadLogin()
	}
	ok, rehash, err := s.verify(password, in.Password, u.PasswordHash)
	if err != nil {
		// A stored hash we cannot read is a data problem, not the caller's:
		// log it, answer as for a wrong password.
		s.log.ErrorContext(ctx, "stored password hash unreadable", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
	if !ok {
		s.logFailure(ctx, u, counted)
		s.countSourceFailure(ctx, in.Tenant, in.SourceIP)
		return LoginResult{}, errBadLogin()
	}
	if u.Status != StatusActive {
		s.log.InfoContext(ctx, "login refused", "reason", "inactive", "tenant", u.TenantID, "user_id", u.ID)
		s.countSourceFailure(ctx, in.Tenant, in.SourceIP)
		return LoginResult{}, errBadLogin()
	}
	upgraded := ""
	if rehash {
		if upgraded, err = s.hasher.Hash(password); err != nil {
			return LoginResult{}, Internal(fmt.Errorf("rehash: %w", err))
		}
	}
	now := s.now()
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

// checkLoginSource refuses an attempt from a source address that has
// failed too often (countSourceFailure counts them): only failures count,
// so a branch whose public terminals share one address can sign in all
// day, while a spray of guesses from it is stopped before any account is
// touched. A throttle that cannot be reached lets the attempt through: the
// account's own counter still holds, and refusing every sign-in while
// DynamoDB hiccups would be an outage of its own.
func (s *Service) checkLoginSource(ctx context.Context, tenantID, sourceIP string) error {
	if sourceIP == "" {
		return nil
	}
	n, err := s.count(ctx, s.lookupHash("login-src", tenantID, sourceIP), loginSourceWindow)
	if err != nil {
		s.log.ErrorContext(ctx, "sign-in source throttle failed; allowing", "tenant", tenantID, "error", err.Error())
		return nil
	}
	if n < loginSourceLimit {
		return nil
	}
	now := s.now()
	s.log.WarnContext(ctx, "login refused", "reason", "source over its limit", "tenant", tenantID)
	return &Error{Code: CodeTooManyRequests, Message: "too many failed sign-ins from your network; try again later",
		RetryAfter: now.Truncate(loginSourceWindow).Add(loginSourceWindow).Sub(now)}
}

// countSourceFailure counts a refused sign-in against its source address.
func (s *Service) countSourceFailure(ctx context.Context, tenantID, sourceIP string) {
	if sourceIP == "" {
		return
	}
	if _, err := s.allow(ctx, s.lookupHash("login-src", tenantID, sourceIP), loginSourceLimit, loginSourceWindow); err != nil {
		s.log.ErrorContext(ctx, "count a failed sign-in of a source", "tenant", tenantID, "error", err.Error())
	}
}

// loginCandidate is what a sign-in names: the account (nil when there is
// none) and the counter the attempt is counted on.
type loginCandidate struct {
	user    *User
	ref     LoginCounterRef
	counter LoginCounter
}

// loginCandidate finds the account a sign-in names. An unknown tenant is
// like an unknown username: the same reads (tenant, username guard, then
// the name's ghost counter rather than the user) are made. A malformed
// tenant has no keys and gets an empty ref.
func (s *Service) loginCandidate(ctx context.Context, tenantID, username string) (loginCandidate, error) {
	if ValidateTenantID(tenantID) != nil {
		return loginCandidate{}, nil
	}
	_, err := s.store.GetTenant(ctx, tenantID)
	if err != nil && !IsCode(err, CodeNotFound) {
		return loginCandidate{}, err
	}
	tenantKnown := err == nil
	u, err := s.store.GetUserByUsername(ctx, tenantID, UsernameKey(username))
	switch {
	case err == nil && tenantKnown:
		return loginCandidate{user: &u, ref: LoginCounterRef{TenantID: tenantID, UserID: u.ID}, counter: u.counter()}, nil
	case err != nil && !IsCode(err, CodeNotFound):
		return loginCandidate{}, err
	}
	ref := LoginCounterRef{TenantID: tenantID, Ghost: s.lookupHash("login", tenantID, username)}
	c, err := s.store.GetLoginCounter(ctx, ref)
	if err != nil {
		return loginCandidate{}, err
	}
	return loginCandidate{ref: ref, counter: c}, nil
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

func (s *Service) logFailure(ctx context.Context, u User, counted LoginCounter) {
	s.log.InfoContext(ctx, "login refused", "reason", "wrong password", "tenant", u.TenantID, "user_id", u.ID, "failures", counted.Failures)
	if s.lockout().locks(counted.Failures) {
		s.log.WarnContext(ctx, "account locked", "tenant", u.TenantID, "user_id", u.ID, "failures", counted.Failures,
			"until", counted.LockedUntil.Format(time.RFC3339), "for_good", counted.LockedUntil.Equal(LockedForGood))
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
// session of the user. A sign-in lock does not stop it: the session shows
// who the caller is, and the lock may be a stranger's doing. A wrong
// current password counts on the account like a failed sign-in, and the
// one that brings a lock also ends the calling session, so that whoever
// holds a stolen session cannot go on guessing through it.
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
	ok := false
	if len(in.CurrentPassword) <= maxPasswordBytes {
		if ok, _, err = s.verify(norm.NFKC.String(in.CurrentPassword), in.CurrentPassword, u.PasswordHash); err != nil {
			return Internal(fmt.Errorf("verify current password of %s: %w", u.ID, err))
		}
	}
	if !ok {
		return s.wrongCurrentPassword(ctx, p, u)
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

// wrongCurrentPassword counts a failed password change on the account and,
// when it locks the account, ends the calling session.
func (s *Service) wrongCurrentPassword(ctx context.Context, p Principal, u User) error {
	counted, _, err := s.reserve(ctx, LoginCounterRef{TenantID: u.TenantID, UserID: u.ID}, u.counter(), false)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", u.ID, err)
	}
	s.logFailure(ctx, u, counted)
	if !s.lockout().locks(counted.Failures) {
		return FieldError("currentPassword", "current password is incorrect")
	}
	if err := s.store.DeleteSession(ctx, p.TenantID, p.UserID, p.SessionID); err != nil && !IsCode(err, CodeNotFound) {
		return fmt.Errorf("end session after failed password changes: %w", err)
	}
	s.log.WarnContext(ctx, "session ended after failed password changes", "tenant", u.TenantID, "user_id", u.ID)
	return &Error{Code: CodeUnauthorized, Field: "currentPassword",
		Message: "current password is incorrect; after too many wrong attempts you have been signed out: sign in again, or ask the library to reset your password"}
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
