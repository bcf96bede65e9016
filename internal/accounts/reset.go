package accounts

import (
	"context"
	"fmt"
	"time"
)

// ResetToken is an e-mailed password-reset link as the store keeps it: only
// the SHA-256 of the token, in the user's partition, expiring by itself.
type ResetToken struct {
	TenantID  string
	UserID    string
	ID        string // hex SHA-256 of the token
	CreatedAt time.Time
	ExpiresAt time.Time
	// Epoch is the user's credential epoch the link was issued at (one
	// above the epoch before it: issuing a link ends the older ones). Any
	// later credential event moves the user's epoch on and ends the link.
	Epoch int64
}

// ResetPasswordInput is one of the three ways staff reset a password:
// a password they choose (typed twice), a generated one (returned once, or
// generated and e-mailed by the notice worker with Notify), or a
// single-use link e-mailed to the user.
type ResetPasswordInput struct {
	Password             string
	PasswordConfirmation string
	Generate             bool
	Notify               bool
	SendResetLink        bool
}

// ResetResult is what staff are shown.
type ResetResult struct {
	Message           string
	GeneratedPassword string // only for Generate without Notify
	// Emailed is true when a notice was queued: the mail itself (and the
	// password or link in it) is made by the notice worker.
	Emailed  bool
	NoticeID string // the queued notice, to follow in the user's notices
}

func (in ResetPasswordInput) ways() int {
	n := 0
	for _, b := range []bool{in.Password != "" || in.PasswordConfirmation != "", in.Generate, in.SendResetLink} {
		if b {
			n++
		}
	}
	return n
}

// ResetPassword resets a user's password as staff. A password that staff
// set or generated is temporary when the tenant says so (the default).
// Every reset ends the user's sessions. The e-mailed ways only queue a
// notice: its sender makes the password or link when it sends it, so that
// no secret waits in a queue.
func (s *Service) ResetPassword(ctx context.Context, c Caller, id string, in ResetPasswordInput) (ResetResult, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return ResetResult{}, err
	}
	if in.ways() != 1 {
		return ResetResult{}, FieldError("password", "give exactly one of: password with passwordConfirmation, generate: true, or sendResetLink: true")
	}
	if in.Notify && !in.Generate {
		return ResetResult{}, FieldError("notify", "notify goes with generate: true")
	}
	u, err := s.targetUser(ctx, p, id)
	if err != nil {
		return ResetResult{}, err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return ResetResult{}, fmt.Errorf("reset password: %w", err)
	}
	if (in.Notify || in.SendResetLink) && u.Email == "" {
		return ResetResult{}, FieldError("email", "%s has no e-mail address: set a password for them, or generate one and pass it on another way", u.Username)
	}
	if (in.Notify || in.SendResetLink) && u.EmailStatus != "" {
		// The notice would only be skipped: say so now, while staff can
		// still choose another way.
		return ResetResult{}, FieldError("email", "mail to %s's address is not delivered (%s): correct the e-mail address, or set a password and pass it on another way", u.Username, u.EmailStatus)
	}
	if (in.Notify || in.SendResetLink) && s.notices == nil {
		return ResetResult{}, E(CodeUnavailable, "e-mail is not configured for this deployment")
	}
	if in.SendResetLink && s.cfg.ResetPageURL == "" {
		return ResetResult{}, E(CodeUnavailable, "reset links are not configured for this deployment (no reset page URL)")
	}
	if in.SendResetLink || in.Notify {
		return s.queueReset(ctx, p, u, in.SendResetLink)
	}

	var password, generated string
	detail := "set by staff"
	if in.Generate {
		if password, err = GeneratePassword(t.Settings.PasswordPolicy); err != nil {
			return ResetResult{}, Internal(err)
		}
		generated, detail = password, "generated"
	} else {
		if in.Password != in.PasswordConfirmation {
			return ResetResult{}, FieldError("passwordConfirmation", "the two passwords do not match")
		}
		if password, err = t.Settings.PasswordPolicy.Check(in.Password, AudienceStaff, contextWords(t, u.Username, u.Email, u.Barcode)...); err != nil {
			return ResetResult{}, err
		}
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return ResetResult{}, Internal(fmt.Errorf("hash: %w", err))
	}
	ev := s.audit(ctx, p, ActionUserPasswordReset, u)
	ev.Detail = detail
	if err := s.store.SetPassword(ctx, u.TenantID, u.ID, u.Version, hash, t.Settings.StaffPasswordsMustChange, s.now(), ev); err != nil {
		return ResetResult{}, s.storeErr("reset password of", u.ID, err)
	}
	s.endSessions(ctx, u)
	s.log.InfoContext(ctx, "password reset", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID, "how", detail)
	return ResetResult{Message: "Successfully Updated User Password", GeneratedPassword: generated}, nil
}

// queueReset records the staff action with its notice and queues it. The
// password (or link) changes when the notice is sent, not now: until then
// the user's current password keeps working.
func (s *Service) queueReset(ctx context.Context, p Principal, u User, link bool) (ResetResult, error) {
	kind, action, detail, msg := NoticeTemporaryPassword, ActionUserPasswordReset, "generated, to be e-mailed",
		"A new temporary password will be generated and e-mailed to the user"
	if link {
		kind, action, detail, msg = NoticeResetLink, ActionUserResetLink, "link to be e-mailed", "A reset link will be e-mailed to the user"
	}
	ev := s.audit(ctx, p, action, u)
	ev.Detail = detail
	n, err := s.notify(ctx, NoticeRequest{TenantID: u.TenantID, UserID: u.ID, Kind: kind}, ev)
	if err != nil {
		return ResetResult{}, s.storeErr("queue reset notice for", u.ID, err)
	}
	s.log.InfoContext(ctx, "reset notice queued", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID, "kind", string(kind), "notice", n.ID)
	return ResetResult{Message: msg, Emailed: true, NoticeID: n.ID}, nil
}

// endSessions revokes every session of u; failure leaves them to expire,
// and is logged.
func (s *Service) endSessions(ctx context.Context, u User) {
	if err := s.store.DeleteUserSessions(ctx, u.TenantID, u.ID, ""); err != nil {
		s.log.ErrorContext(ctx, "revoke sessions", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
}

// errBadResetLink is the one answer for every unusable link.
func errBadResetLink() error {
	return FieldError("token", "this reset link is not valid or has expired; ask the library for a new one")
}

// CompletePasswordReset sets the password a user chose through an e-mailed
// link. The link works once, and only while nothing has changed the user's
// credentials since it was sent (CredentialsEnded); a password the policy
// refuses leaves it usable. It clears a sign-in lock (a lock never stands
// in the way of a valid link), ends every session and every other link,
// and tells the user by mail; it does not sign them in.
func (s *Service) CompletePasswordReset(ctx context.Context, token, password string) error {
	tok, err := ParseToken(token)
	if err != nil {
		return errBadResetLink()
	}
	id := SessionIDOf(token)
	rt, err := s.store.GetResetToken(ctx, tok.TenantID, tok.UserID, id)
	if IsCode(err, CodeNotFound) {
		return errBadResetLink()
	}
	if err != nil {
		return fmt.Errorf("reset link: %w", err)
	}
	now := s.now()
	if !now.Before(rt.ExpiresAt) {
		return errBadResetLink()
	}
	u, err := s.store.GetUser(ctx, rt.TenantID, rt.UserID)
	if IsCode(err, CodeNotFound) {
		return errBadResetLink()
	}
	if err != nil {
		return fmt.Errorf("reset link: %w", err)
	}
	if u.Status != StatusActive || u.CredentialEpoch != rt.Epoch {
		// Checked again in the write; refusing here spares the caller a
		// policy check on a link that cannot work.
		return errBadResetLink()
	}
	t, err := s.store.GetTenant(ctx, rt.TenantID)
	if err != nil {
		return fmt.Errorf("reset link: %w", err)
	}
	if password == "" {
		return FieldError("password", "password is required")
	}
	normalized, err := t.Settings.PasswordPolicy.Check(password, AudienceSelf, contextWords(t, u.Username, u.Email, u.Barcode)...)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(normalized)
	if err != nil {
		return Internal(fmt.Errorf("hash: %w", err))
	}
	if err := s.store.CompleteReset(ctx, rt, hash, now); err != nil {
		if IsCode(err, CodeNotFound) {
			return errBadResetLink()
		}
		return s.storeErr("reset password by link of", u.ID, err)
	}
	if err := s.store.DeleteUserResetTokens(ctx, u.TenantID, u.ID); err != nil {
		// Tidy-up only: the epoch moved on, so they no longer work.
		s.log.ErrorContext(ctx, "delete other reset links", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
	s.endSessions(ctx, u)
	s.log.InfoContext(ctx, "password reset by link", "tenant", u.TenantID, "user_id", u.ID, "was_locked", u.LockedAt(now))
	s.tellPasswordChanged(ctx, u)
	return nil
}

// tellPasswordChanged queues the "your password was changed" notice; the
// change stands without it (no mail configured, or a failed write), and
// that is logged.
func (s *Service) tellPasswordChanged(ctx context.Context, u User) {
	if s.notices == nil {
		s.log.WarnContext(ctx, "password-changed notice not sent: e-mail is not configured", "tenant", u.TenantID, "user_id", u.ID)
		return
	}
	if _, err := s.notify(ctx, NoticeRequest{TenantID: u.TenantID, UserID: u.ID, Kind: NoticePasswordChanged}, nil); err != nil {
		s.log.ErrorContext(ctx, "password-changed notice not queued", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
}
