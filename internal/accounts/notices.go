package accounts

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// NoticeKind says what a notice tells its recipient; each kind has its own
// letter (the tenant's or the shipped default).
type NoticeKind string

const (
	// NoticeResetLink carries a single-use link to set a new password; the
	// link is made by the sender at send time.
	NoticeResetLink NoticeKind = "password-reset-link"
	// NoticeTemporaryPassword carries a generated temporary password; the
	// password is generated and set by the sender at send time.
	NoticeTemporaryPassword NoticeKind = "password-temporary"
	// NoticePasswordChanged tells a user their password was changed
	// (reserved: sent from issue 10 on).
	NoticePasswordChanged NoticeKind = "password-changed"
	// NoticeJobFinished tells the staff member who started an import or a
	// set job how it ended.
	NoticeJobFinished NoticeKind = "job-finished"
	// NoticePasswordRecovery answers a patron's own "forgot password": one
	// message to an address, listing each account there with its own
	// single-use link (made at send time), or "not active" for one that
	// is deactivated.
	NoticePasswordRecovery NoticeKind = "password-recovery"
	// NoticeUsernameReminder answers "forgot username": the usernames at
	// an address, each with the last digits of its barcode.
	NoticeUsernameReminder NoticeKind = "username-reminder"
	// NoticeLinkCreated tells both accounts of a new (or newly confirmed)
	// link what each can now do.
	NoticeLinkCreated NoticeKind = "link-created"
	// NoticeLinkConfirmRequest asks the owner of a two-way phrase to
	// confirm that its connector may manage the owner's account.
	NoticeLinkConfirmRequest NoticeKind = "link-confirm-request"
	// NoticeLinkRemoved tells both accounts that their link is gone.
	NoticeLinkRemoved NoticeKind = "link-removed"
)

// NoticeKinds lists every kind, in the order staff see them.
func NoticeKinds() []NoticeKind {
	return []NoticeKind{NoticeResetLink, NoticeTemporaryPassword, NoticePasswordChanged, NoticeJobFinished, NoticePasswordRecovery, NoticeUsernameReminder, NoticeLinkCreated, NoticeLinkConfirmRequest, NoticeLinkRemoved}
}

// NoticeStatus is where a notice is in its life:
// queued → sending → sent | failed, and from sent on to bounced or
// complained when SES reports it; skipped when it was never sent.
type NoticeStatus string

const (
	NoticeQueued     NoticeStatus = "queued"
	NoticeSending    NoticeStatus = "sending"
	NoticeSent       NoticeStatus = "sent"
	NoticeFailed     NoticeStatus = "failed"
	NoticeBounced    NoticeStatus = "bounced"
	NoticeComplained NoticeStatus = "complained"
	NoticeSkipped    NoticeStatus = "skipped"
)

// NoticeStatuses lists every status.
func NoticeStatuses() []NoticeStatus {
	return []NoticeStatus{NoticeQueued, NoticeSending, NoticeSent, NoticeFailed, NoticeBounced, NoticeComplained, NoticeSkipped}
}

// Final reports whether a notice in this status will not be sent (again).
func (st NoticeStatus) Final() bool {
	switch st {
	case NoticeQueued, NoticeSending:
		return false
	}
	return true
}

// Notice is one message to one user, as the pipeline tracks it. It never
// holds a secret: a link or password is made when the notice is sent and
// lives only in the mail.
type Notice struct {
	TenantID string
	UserID   string // the recipient
	ID       string // time-ordered, so the newest sorts last
	Kind     NoticeKind
	Status   NoticeStatus
	Attempts int    // sends tried, counted here rather than by SQS receives
	Reason   string // why it failed, was skipped, or is being retried
	// To is the address used for the last attempt, so a bounce can be
	// matched to it; it is not secret but is never logged.
	To string
	// Params are the non-secret placeholder values known when the notice
	// was raised (job id, file name, counts, ...).
	Params map[string]string
	// Also are the other accounts a recovery notice is about (the family
	// sharing the recipient's address), by id; the sender reads them.
	Also              []string
	JobID             string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SentAt            time.Time
	LeaseUntil        time.Time // while sending: another delivery keeps off until then
	NextAttemptAt     time.Time // while queued after a failure: when it is retried
	ProviderMessageID string    // SES's message id, the key of bounce events
	Delivered         bool      // SES reported delivery
}

// NoticeRef is all a queue message carries: ids, never an address, a name or
// a secret.
type NoticeRef struct {
	TenantID string
	UserID   string
	NoticeID string
}

// NoticeQueue hands notices to the worker that sends them. delay holds the
// message back (a retry's backoff); adapters cap it at what they support.
type NoticeQueue interface {
	Enqueue(ctx context.Context, ref NoticeRef, delay time.Duration) error
}

// NoticePage is one page of a user's notices, newest first.
type NoticePage struct {
	Notices    []Notice
	NextCursor string // empty on the last page
}

// EmailStatus says whether mail to a user's address is known not to arrive;
// the zero value is "nothing known against it".
type EmailStatus string

const (
	EmailBounced    EmailStatus = "bounced"    // a hard bounce: the address does not exist
	EmailComplained EmailStatus = "complained" // the recipient marked a notice as spam
)

// NoticeStore keeps notices in their recipient's partition, and what SES
// reports about an address on the user.
type NoticeStore interface {
	// PutNotice stores a new notice, with the audit event of the action it
	// reports in the same transaction when there is one.
	PutNotice(ctx context.Context, n Notice, audit *AuditEvent) error
	GetNotice(ctx context.Context, tenantID, userID, noticeID string) (Notice, error)
	// UpdateNotice replaces the stored notice by n if it is still in
	// status from after fromAttempts attempts; otherwise it is a conflict.
	// This is what lets only one delivery claim a notice.
	UpdateNotice(ctx context.Context, n Notice, from NoticeStatus, fromAttempts int) error
	// ListNotices pages through a user's notices, newest first.
	ListNotices(ctx context.Context, tenantID, userID string, limit int, cursor string) (NoticePage, error)
	// PutClaimedResetToken stores rt and removes every older link of the
	// user, if claim is still the stored claim (status sending, same
	// attempts): a delivery that lost its claim makes no credential. It
	// moves the user's credential epoch to rt.Epoch in the same
	// transaction, if the user is still at rt.Epoch-1 (else a conflict on
	// "version": the account changed since it was read).
	PutClaimedResetToken(ctx context.Context, claim Notice, rt ResetToken) error
	// SetClaimedPassword is SetPassword (without audit, with its epoch
	// bump) under the same condition on claim.
	SetClaimedPassword(ctx context.Context, claim Notice, version int64, hash string, mustChange bool, at time.Time) error
	// SetUserEmailStatus records st on the user if the user's address is
	// still address; a user who changed it meanwhile is left alone.
	SetUserEmailStatus(ctx context.Context, tenantID, userID, address string, st EmailStatus, at time.Time) error
}

// Limits of the pipeline.
const (
	// maxNoticeAttempts is what the bulk-reset workflow promises: "re-try
	// to a maximum of three times".
	maxNoticeAttempts = 3
	// noticeLease keeps other deliveries off a claimed notice: longer than
	// a send takes, short enough that a crashed worker's notice is retried
	// within minutes.
	noticeLease = 2 * time.Minute
	// noticeRetention is how long a user's notices are listed.
	noticeRetention = 400 * 24 * time.Hour
)

// NoticeRetention is how long a notice record is kept.
const NoticeRetention = noticeRetention

// comeBackAfterLease answers a delivery that finds the notice claimed by
// another: a fresh message, held back until the claim's lease has run
// out, takes over, and this one is done. Answering "retry" instead would
// spend the message's receives, a visibility timeout each, while the lease
// of a worker killed mid-send still runs, and park the notice in the
// dead-letter queue as "sending" for good. Without a queue, or when the
// hand-over fails, the message itself comes back.
func (s *Service) comeBackAfterLease(ctx context.Context, ref NoticeRef, lease time.Duration) error {
	inFlight := &Error{Code: CodeUnavailable, Message: "the notice is being sent", Err: ErrNoticeInFlight}
	if s.notices == nil {
		return inFlight
	}
	if err := s.notices.Enqueue(ctx, ref, lease+time.Second); err != nil {
		s.log.WarnContext(ctx, "re-queue a claimed notice", "tenant", ref.TenantID, "user_id", ref.UserID, "notice", ref.NoticeID, "error", err.Error())
		return inFlight
	}
	s.log.InfoContext(ctx, "notice claimed by another delivery; looked at again after its lease", "tenant", ref.TenantID, "user_id", ref.UserID, "notice", ref.NoticeID, "in", lease.Round(time.Second).String())
	return nil
}

// ErrNoticeInFlight is in the chain of DeliverNotice's error when another
// delivery holds the notice: the message should come back later rather
// than be sent now.
var ErrNoticeInFlight = errors.New("notice is being sent by another delivery")

// noticeBackoff is the wait before attempt n+1 after n failed attempts:
// 30 s, then 2 min, each with up to a fifth more at random so a throttled
// burst does not come back as one.
func (s *Service) noticeBackoff(attempts int) time.Duration {
	delays := s.cfg.NoticeRetryDelays
	base := delays[min(max(attempts, 1), len(delays))-1]
	var b [2]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return base
	}
	return base + time.Duration(binary.BigEndian.Uint16(b[:]))*base/5/65536
}

// NoticeRequest is a notice a domain action raises.
type NoticeRequest struct {
	TenantID string
	UserID   string // the recipient
	Kind     NoticeKind
	Params   map[string]string // non-secret placeholder values
	JobID    string
}

// newNoticeID is 48 bits of milliseconds and 80 random bits in hex: ids sort
// by creation, so the newest notices are the last of their user's partition.
func (s *Service) newNoticeID(now time.Time) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := io.ReadFull(s.rand, b[6:]); err != nil {
		return "", fmt.Errorf("notice id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

var noticeIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidNoticeID reports whether id could be a notice id.
func ValidNoticeID(id string) bool { return noticeIDPattern.MatchString(id) }

// notify records a notice as queued (with audit in the same transaction)
// and hands its ids to the queue. A failed hand-over does not fail the
// action: the notice stays queued, where staff see it.
func (s *Service) notify(ctx context.Context, req NoticeRequest, audit *AuditEvent) (Notice, error) {
	if s.notices == nil {
		return Notice{}, E(CodeUnavailable, "e-mail is not configured for this deployment")
	}
	now := s.now()
	id, err := s.newNoticeID(now)
	if err != nil {
		return Notice{}, Internal(err)
	}
	n := Notice{
		TenantID: req.TenantID, UserID: req.UserID, ID: id, Kind: req.Kind, Status: NoticeQueued,
		Params: req.Params, JobID: req.JobID, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.PutNotice(ctx, n, audit); err != nil {
		return Notice{}, fmt.Errorf("record %s notice: %w", req.Kind, err)
	}
	if err := s.notices.Enqueue(ctx, n.ref(), 0); err != nil {
		s.log.ErrorContext(ctx, "notice recorded but not queued; it stays queued", "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "kind", string(n.Kind), "error", err.Error())
		return n, nil
	}
	s.log.InfoContext(ctx, "notice queued", "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "kind", string(n.Kind))
	return n, nil
}

func (n Notice) ref() NoticeRef {
	return NoticeRef{TenantID: n.TenantID, UserID: n.UserID, NoticeID: n.ID}
}

// DeliverNotice sends one queued notice, once. A nil error means the
// message that asked for it is done with (sent, failed, skipped, or queued
// again with a delay); an error means it should come back, e.g. while
// another delivery holds the notice.
func (s *Service) DeliverNotice(ctx context.Context, ref NoticeRef) error {
	n, err := s.store.GetNotice(ctx, ref.TenantID, ref.UserID, ref.NoticeID)
	if IsCode(err, CodeNotFound) {
		// Deleted with its user, or never written.
		s.log.InfoContext(ctx, "notice not found; dropped", "tenant", ref.TenantID, "user_id", ref.UserID, "notice", ref.NoticeID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deliver notice %s: %w", ref.NoticeID, err)
	}
	if n.Status.Final() {
		return nil
	}
	now := s.now()
	if n.Status == NoticeSending && now.Before(n.LeaseUntil) {
		return s.comeBackAfterLease(ctx, ref, n.LeaseUntil.Sub(now))
	}
	if n.Status == NoticeSending && n.Attempts >= maxNoticeAttempts {
		// The last attempt was cut off; it may or may not have been sent.
		return s.settle(ctx, n, NoticeFailed, "the last attempt was interrupted")
	}
	u, err := s.store.GetUser(ctx, n.TenantID, n.UserID)
	switch {
	case IsCode(err, CodeNotFound):
		return s.settle(ctx, n, NoticeSkipped, "the user no longer exists")
	case err != nil:
		return fmt.Errorf("deliver notice %s: %w", n.ID, err)
	case u.Email == "":
		return s.settle(ctx, n, NoticeSkipped, "the user has no e-mail address")
	case u.EmailStatus == EmailBounced:
		return s.settle(ctx, n, NoticeSkipped, "address bounced")
	case u.EmailStatus == EmailComplained:
		return s.settle(ctx, n, NoticeSkipped, "address complained")
	}
	if s.mailer == nil {
		return E(CodeUnavailable, "this function cannot send mail (no MAIL_FROM)")
	}
	t, err := s.store.GetTenant(ctx, n.TenantID)
	if err != nil {
		return fmt.Errorf("deliver notice %s: %w", n.ID, err)
	}
	if err := s.pace(ctx); err != nil {
		return fmt.Errorf("deliver notice %s: %w", n.ID, err)
	}

	now = s.now()
	claim := n
	claim.Status, claim.Attempts, claim.LeaseUntil, claim.UpdatedAt = NoticeSending, n.Attempts+1, now.Add(noticeLease), now
	claim.To, claim.NextAttemptAt = u.Email, time.Time{}
	if err := s.store.UpdateNotice(ctx, claim, n.Status, n.Attempts); err != nil {
		if IsCode(err, CodeConflict) {
			// Another delivery got there first; come back to see how it
			// ended.
			return &Error{Code: CodeUnavailable, Message: "the notice is being sent", Err: fmt.Errorf("%w: %w", ErrNoticeInFlight, err)}
		}
		return fmt.Errorf("claim notice %s: %w", n.ID, err)
	}

	data := map[string]string{"username": u.Username}
	for k, v := range n.Params {
		data[k] = v
	}
	if err := s.makeSecret(ctx, t, u, claim, data); err != nil {
		if claimLost(err) {
			return nil
		}
		return s.failed(ctx, claim, "the credential could not be made: "+PublicMessage(err), false, err)
	}
	subject, body, err := s.renderNotice(ctx, t, n.Kind, data)
	if err != nil {
		// A throttled letter read passes; a letter that cannot be
		// rendered will not render on the next attempt either.
		return s.failed(ctx, claim, "the letter could not be written", !IsCode(err, CodeUnavailable), err)
	}
	msgID, err := s.mailer.Send(ctx, Message{
		To: u.Email, SenderName: t.Sender(), Subject: subject, Text: body, Tag: string(n.Kind),
		Tags: map[string]string{"tenant": n.TenantID, "user": n.UserID, "notice": n.ID},
	})
	if err != nil {
		permanent, reason := mailFailure(err)
		return s.failed(ctx, claim, reason, permanent, err)
	}
	sent := claim
	sent.Status, sent.SentAt, sent.UpdatedAt, sent.ProviderMessageID, sent.Reason, sent.LeaseUntil = NoticeSent, s.now(), s.now(), msgID, "", time.Time{}
	if err := s.store.UpdateNotice(ctx, sent, NoticeSending, claim.Attempts); err != nil {
		// The mail is out. Acking keeps it from going out again; the
		// record shows "sending" until its lease runs out, which staff
		// can read as "probably sent".
		s.log.ErrorContext(ctx, "notice sent but not recorded", "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "error", err.Error())
		return nil
	}
	s.log.InfoContext(ctx, "notice sent", "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "kind", string(n.Kind), "attempt", claim.Attempts)
	return nil
}

// errClaimLost marks a credential write refused because the claim moved on.
var errClaimLost = errors.New("notice claim lost")

func claimLost(err error) bool { return errors.Is(err, errClaimLost) }

// makeSecret creates the credential a notice carries, now that its sender
// holds the claim: no link or password exists before the mail that
// carries it is being sent, so none rests in a queue, and a later attempt
// makes a new one that ends the last.
func (s *Service) makeSecret(ctx context.Context, t Tenant, u User, claim Notice, data map[string]string) error {
	now := s.now()
	switch claim.Kind {
	case NoticeResetLink:
		if s.cfg.ResetPageURL == "" {
			return E(CodeUnavailable, "reset links are not configured for this deployment (no reset page URL)")
		}
		token, err := newToken(s.rand, u.TenantID, u.ID)
		if err != nil {
			return Internal(err)
		}
		ttl := time.Duration(t.Settings.ResetLinkTTL)
		rt := ResetToken{TenantID: u.TenantID, UserID: u.ID, ID: SessionIDOf(token), CreatedAt: now, ExpiresAt: now.Add(ttl), Epoch: u.CredentialEpoch + 1}
		if err := s.store.PutClaimedResetToken(ctx, claim, rt); err != nil {
			return claimErr(err)
		}
		// The token travels in the fragment: browsers do not send it to
		// the page's server or in Referer headers.
		data["link"] = s.cfg.ResetPageURL + "#token=" + url.QueryEscape(token)
		data["linkLifetime"], data["linkExpiresAt"] = LifetimeText(ttl), LetterTime(rt.ExpiresAt)
	case NoticeTemporaryPassword:
		password, err := GeneratePassword(t.Settings.PasswordPolicy)
		if err != nil {
			return Internal(err)
		}
		hash, err := s.hasher.Hash(password)
		if err != nil {
			return Internal(fmt.Errorf("hash: %w", err))
		}
		if err := s.store.SetClaimedPassword(ctx, claim, u.Version, hash, t.Settings.StaffPasswordsMustChange, now); err != nil {
			return claimErr(err)
		}
		s.endSessions(ctx, u)
		data["temporaryPassword"] = password
	case NoticePasswordRecovery, NoticeUsernameReminder:
		// One link per listed account, each under this claim (recovery.go).
		return s.recoveryLetter(ctx, t, u, claim, data)
	}
	return nil
}

// claimErr tells a lost claim (the store's conflict on "notice") from any
// other refusal, e.g. the account changed meanwhile.
func claimErr(err error) error {
	if IsCode(err, CodeConflict) && PublicField(err) == "notice" {
		return fmt.Errorf("%w: %w", errClaimLost, err)
	}
	return err
}

// mailFailure reads a Mailer's error: whether retrying cannot help, and a
// reason fit for the notice record (never the message or the address).
func mailFailure(err error) (permanent bool, reason string) {
	var me *MailError
	if errors.As(err, &me) {
		return me.Permanent, me.Reason
	}
	if IsCode(err, CodeInvalid) {
		return true, "the message was refused: " + PublicMessage(err)
	}
	return false, "the mail service failed: " + PublicMessage(err)
}

// failed ends an attempt that did not send: back to queued with a backoff
// while attempts remain and the cause may pass, else failed for good.
func (s *Service) failed(ctx context.Context, claim Notice, reason string, permanent bool, cause error) error {
	s.log.WarnContext(ctx, "notice attempt failed", "tenant", claim.TenantID, "user_id", claim.UserID, "notice", claim.ID,
		"kind", string(claim.Kind), "attempt", claim.Attempts, "permanent", permanent, "error", cause.Error())
	if permanent || claim.Attempts >= maxNoticeAttempts {
		if !permanent {
			reason = fmt.Sprintf("%s (after %d attempts)", reason, claim.Attempts)
		}
		return s.settle(ctx, claim, NoticeFailed, reason)
	}
	now := s.now()
	delay := s.noticeBackoff(claim.Attempts)
	next := claim
	next.Status, next.Reason, next.UpdatedAt, next.LeaseUntil, next.NextAttemptAt = NoticeQueued, reason, now, time.Time{}, now.Add(delay)
	if err := s.store.UpdateNotice(ctx, next, NoticeSending, claim.Attempts); err != nil {
		if IsCode(err, CodeConflict) {
			return nil // the claim moved on; whoever holds it finishes it
		}
		return fmt.Errorf("requeue notice %s: %w", claim.ID, err)
	}
	if s.notices == nil {
		// No queue to hold the retry back with: the message being handled
		// comes back after its visibility timeout instead.
		return E(CodeUnavailable, "notice %s queued again; no notice queue to delay it with", claim.ID)
	}
	if err := s.notices.Enqueue(ctx, next.ref(), delay); err != nil {
		// The message being handled comes back after its visibility
		// timeout and finds the notice queued: that is the retry.
		return fmt.Errorf("requeue notice %s: %w", claim.ID, err)
	}
	return nil
}

// settle ends a notice in a final status, conditional on the status and
// attempts it was read with.
func (s *Service) settle(ctx context.Context, n Notice, st NoticeStatus, reason string) error {
	end := n
	end.Status, end.Reason, end.UpdatedAt, end.LeaseUntil, end.NextAttemptAt = st, reason, s.now(), time.Time{}, time.Time{}
	if err := s.store.UpdateNotice(ctx, end, n.Status, n.Attempts); err != nil {
		if IsCode(err, CodeConflict) {
			return nil
		}
		return fmt.Errorf("record notice %s %s: %w", n.ID, st, err)
	}
	s.log.InfoContext(ctx, "notice "+string(st), "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "kind", string(n.Kind), "attempts", n.Attempts, "reason", reason)
	return nil
}

// pacer spaces sends evenly: one every interval, with no burst saved up
// while idle, so that the workers together never pass the account's rate
// and none of 100,000 notices fails for throttling. It is a token bucket
// of one token.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time // when the next send may start
}

// pace waits for this instance's next send slot on the service's clock.
func (s *Service) pace(ctx context.Context) error {
	p := s.pacer
	if p == nil || p.interval <= 0 {
		return nil
	}
	p.mu.Lock()
	now := s.now()
	if p.next.Before(now) {
		p.next = now
	}
	start := p.next
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		return s.wait(ctx, d)
	}
	return nil
}

// realWait is the real clock's timer.
func realWait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ListUserNotices lists what was sent to a user, newest first: kind,
// status, attempts and reason, never the text.
func (s *Service) ListUserNotices(ctx context.Context, c Caller, userID string, limit int, cursor string) (NoticePage, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return NoticePage{}, err
	}
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 1 || limit > maxPageSize:
		return NoticePage{}, FieldError("limit", "limit must be between 1 and %d", maxPageSize)
	}
	if _, err := s.targetUser(ctx, p, userID); err != nil {
		return NoticePage{}, err
	}
	page, err := s.store.ListNotices(ctx, p.TenantID, userID, limit, cursor)
	if err != nil {
		return NoticePage{}, s.storeErr("list notices of", userID, err)
	}
	return page, nil
}

// MailEventType is what SES reports about a sent message.
type MailEventType string

const (
	MailDelivery  MailEventType = "Delivery"
	MailBounce    MailEventType = "Bounce"
	MailComplaint MailEventType = "Complaint"
)

// MailEvent is one SES event about one notice, found by the message tags
// the notice was sent with.
type MailEvent struct {
	Type              MailEventType
	BounceType        string // Permanent, Transient or Undetermined
	BounceSubType     string // e.g. General, Suppressed, OnAccountSuppressionList
	ProviderMessageID string
	TenantID          string
	UserID            string
	NoticeID          string
	At                time.Time
}

// RecordMailEvent applies an SES event: a hard bounce marks the notice
// bounced and the address undeliverable, a complaint marks both
// complained, a delivery (or a soft bounce such as an auto-reply) is noted
// on the notice only. Replaying an event changes nothing more.
func (s *Service) RecordMailEvent(ctx context.Context, ev MailEvent) error {
	if ValidateTenantID(ev.TenantID) != nil || !ValidUserID(ev.UserID) || !ValidNoticeID(ev.NoticeID) {
		s.log.WarnContext(ctx, "mail event without notice tags; ignored", "type", string(ev.Type), "message_id", ev.ProviderMessageID)
		return nil
	}
	n, err := s.store.GetNotice(ctx, ev.TenantID, ev.UserID, ev.NoticeID)
	if IsCode(err, CodeNotFound) {
		s.log.InfoContext(ctx, "mail event for an unknown notice; ignored", "tenant", ev.TenantID, "user_id", ev.UserID, "notice", ev.NoticeID, "type", string(ev.Type))
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail event: %w", err)
	}
	if n.ProviderMessageID != "" && ev.ProviderMessageID != "" && n.ProviderMessageID != ev.ProviderMessageID {
		// An earlier attempt's mail (the rare duplicate): the address
		// still speaks for itself below, but the notice keeps its state.
		s.log.InfoContext(ctx, "mail event for an earlier send of the notice", "tenant", n.TenantID, "notice", n.ID, "type", string(ev.Type))
	}
	var (
		st   NoticeStatus
		flag EmailStatus
	)
	switch {
	case ev.Type == MailBounce && ev.BounceType == "Permanent":
		st, flag = NoticeBounced, EmailBounced
	case ev.Type == MailComplaint:
		st, flag = NoticeComplained, EmailComplained
	case ev.Type == MailDelivery || ev.Type == MailBounce:
		if n.Status == NoticeSent && !n.Delivered {
			next := n
			next.Delivered, next.UpdatedAt = true, s.now()
			if err := s.store.UpdateNotice(ctx, next, n.Status, n.Attempts); err != nil && !IsCode(err, CodeConflict) {
				return fmt.Errorf("mail event: %w", err)
			}
		}
		return nil
	default:
		return nil
	}
	if flag != "" && n.To != "" {
		if err := s.store.SetUserEmailStatus(ctx, n.TenantID, n.UserID, n.To, flag, ev.At); err != nil && !IsCode(err, CodeNotFound) {
			return fmt.Errorf("mail event: flag address: %w", err)
		}
	}
	// A complaint outranks a bounce; a later bounce does not undo one.
	if n.Status != st && n.Status != NoticeComplained {
		next := n
		next.Status, next.UpdatedAt = st, s.now()
		next.Reason = "SES reported a " + strings.ToLower(string(ev.Type))
		if ev.BounceSubType != "" {
			next.Reason += " (" + ev.BounceType + "/" + ev.BounceSubType + ")"
		}
		if err := s.store.UpdateNotice(ctx, next, n.Status, n.Attempts); err != nil && !IsCode(err, CodeConflict) {
			return fmt.Errorf("mail event: %w", err)
		}
	}
	s.log.InfoContext(ctx, "mail event recorded", "tenant", n.TenantID, "user_id", n.UserID, "notice", n.ID, "type", string(ev.Type), "bounce_type", ev.BounceType)
	return nil
}
