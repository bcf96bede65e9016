package accounts

import (
	"context"
	"fmt"
	"net/url"
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
}

// ResetPasswordInput is one of the three ways staff reset a password:
// a password they choose (typed twice), a generated one (returned once, or
// e-mailed with Notify), or a single-use link e-mailed to the user.
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
	Emailed           bool
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
// Every reset ends the user's sessions.
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
	if (in.Notify || in.SendResetLink) && s.mailer == nil {
		return ResetResult{}, E(CodeUnavailable, "e-mail is not configured for this deployment")
	}
	if in.SendResetLink && s.cfg.ResetPageURL == "" {
		return ResetResult{}, E(CodeUnavailable, "reset links are not configured for this deployment (no reset page URL)")
	}
	if in.SendResetLink {
		return s.sendResetLink(ctx, p, t, u)
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
	if in.Notify {
		detail += ", e-mailed"
	}
	ev.Detail = detail
	if err := s.store.SetPassword(ctx, u.TenantID, u.ID, u.Version, hash, t.Settings.StaffPasswordsMustChange, s.now(), ev); err != nil {
		return ResetResult{}, s.storeErr("reset password of", u.ID, err)
	}
	s.endSessions(ctx, u)
	res := ResetResult{Message: "Successfully Updated User Password"}
	if in.Notify {
		err := s.mailer.Send(ctx, Message{
			To: u.Email, SenderName: t.Sender(), Tag: "password-reset",
			Subject: fmt.Sprintf("Your %s password was reset", t.Sender()),
			Text: fmt.Sprintf("Hello %s,\n\nstaff at %s have reset your password. Your new temporary password is:\n\n    %s\n\nSign in with it and you will be asked to choose your own.\nIf you did not ask for this, contact the library.\n",
				u.Username, t.Sender(), generated),
		})
		if err != nil {
			// The password is already changed; staff must know the user
			// was not told, and can send a link instead.
			s.log.ErrorContext(ctx, "reset notice not sent", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
			return ResetResult{}, &Error{Code: CodeUnavailable, Message: "the password was reset but the e-mail could not be sent; reset again, or send a reset link", Err: err}
		}
		res.Emailed, res.Message = true, "Successfully Updated User Password; the new password was e-mailed to the user"
	} else {
		res.GeneratedPassword = generated
	}
	s.log.InfoContext(ctx, "password reset", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID, "how", detail)
	return res, nil
}

// endSessions revokes every session of u; failure leaves them to expire,
// and is logged.
func (s *Service) endSessions(ctx context.Context, u User) {
	if err := s.store.DeleteUserSessions(ctx, u.TenantID, u.ID, ""); err != nil {
		s.log.ErrorContext(ctx, "revoke sessions", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
}

func (s *Service) sendResetLink(ctx context.Context, p Principal, t Tenant, u User) (ResetResult, error) {
	token, err := newToken(s.rand, u.TenantID, u.ID)
	if err != nil {
		return ResetResult{}, Internal(err)
	}
	now := s.now()
	rt := ResetToken{TenantID: u.TenantID, UserID: u.ID, ID: SessionIDOf(token), CreatedAt: now, ExpiresAt: now.Add(time.Duration(t.Settings.ResetLinkTTL))}
	ev := s.audit(ctx, p, ActionUserResetLink, u)
	ev.Detail = "link issued"
	if err := s.store.PutResetToken(ctx, rt, ev); err != nil {
		return ResetResult{}, fmt.Errorf("store reset token of %s: %w", u.ID, err)
	}
	// The token travels in the fragment: browsers do not send it to the
	// page's server or in Referer headers.
	link := s.cfg.ResetPageURL + "#token=" + url.QueryEscape(token)
	err = s.mailer.Send(ctx, Message{
		To: u.Email, SenderName: t.Sender(), Tag: "password-reset-link",
		Subject: fmt.Sprintf("Set a new %s password", t.Sender()),
		Text: fmt.Sprintf("Hello %s,\n\nstaff at %s sent you a link to set a new password:\n\n%s\n\nThe link works once and expires at %s UTC.\nUntil you use it, your current password keeps working. If you did not expect this message, you can ignore it.\n",
			u.Username, t.Sender(), link, rt.ExpiresAt.Format("2006-01-02 15:04")),
	})
	if err != nil {
		s.log.ErrorContext(ctx, "reset link not sent", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
		return ResetResult{}, &Error{Code: CodeUnavailable, Message: "the reset link could not be e-mailed; try again shortly", Err: err}
	}
	s.log.InfoContext(ctx, "reset link sent", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID)
	return ResetResult{Message: "A password reset link was e-mailed to the user", Emailed: true}, nil
}

// errBadResetLink is the one answer for every unusable link.
func errBadResetLink() error {
	return FieldError("token", "this reset link is not valid or has expired; ask the library for a new one")
}

// CompletePasswordReset sets the password a user chose through an e-mailed
// link. The link works once; a password the policy refuses leaves it usable.
// It ends every session and every other link of the user.
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
	if err := s.store.ConsumeResetToken(ctx, rt.TenantID, rt.UserID, rt.ID); err != nil {
		if IsCode(err, CodeNotFound) {
			return errBadResetLink()
		}
		return fmt.Errorf("consume reset link: %w", err)
	}
	if err := s.store.SetPassword(ctx, u.TenantID, u.ID, u.Version, hash, false, now, nil); err != nil {
		return s.storeErr("reset password of", u.ID, err)
	}
	if err := s.store.DeleteUserResetTokens(ctx, u.TenantID, u.ID); err != nil {
		s.log.ErrorContext(ctx, "delete other reset links", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
	}
	s.endSessions(ctx, u)
	s.log.InfoContext(ctx, "password reset by link", "tenant", u.TenantID, "user_id", u.ID)
	return nil
}
