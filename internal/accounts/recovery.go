package accounts

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Self-service recovery: a patron who forgot a password or a username asks
// with what they remember, and the answer is the same whatever exists. The
// request handler looks nothing up: it counts the request, stores it and
// queues its id; the recovery worker resolves it later and, when an account
// matches, raises one notice to its address. So status, body, headers and
// time of the answer cannot tell an existing account from an unknown one,
// a deactivated one, one without e-mail, or an address shared by a family.

// RecoveryKind is what a patron asks for.
type RecoveryKind string

const (
	// RecoverPassword is "forgot password": the identifier is a username,
	// a barcode or an e-mail address.
	RecoverPassword RecoveryKind = "password"
	// RecoverUsername is "forgot username": the identifier is an e-mail
	// address.
	RecoverUsername RecoveryKind = "username"
)

// RecoveryInput is one patron's request, as the API received it.
type RecoveryInput struct {
	Kind       RecoveryKind
	Tenant     string
	Identifier string
	// Source is the caller's address as the gateway saw it; it is only
	// ever hashed.
	Source string
}

// RecoveryRequest is a stored request between the handler and the worker.
// It lives a day at most; the worker deletes it once it is answered.
type RecoveryRequest struct {
	TenantID   string
	ID         string
	Kind       RecoveryKind
	Identifier string
	CreatedAt  time.Time
	// NoticeUserID and NoticeID name the notice raised for it, once there
	// is one: a redelivered request finds it and raises no second one.
	NoticeUserID string
	NoticeID     string
}

// RecoveryRef is all a recovery queue message carries.
type RecoveryRef struct {
	TenantID  string
	RequestID string
}

// RecoveryQueue hands requests to the recovery worker.
type RecoveryQueue interface {
	EnqueueRecovery(ctx context.Context, ref RecoveryRef) error
}

// RecoveryStore keeps recovery requests.
type RecoveryStore interface {
	PutRecoveryRequest(ctx context.Context, r RecoveryRequest) error
	// GetRecoveryRequest reads a request; not_found once it is done.
	GetRecoveryRequest(ctx context.Context, tenantID, id string) (RecoveryRequest, error)
	// RecordRecoveryNotice stores n (with audit) and notes it on r, in one
	// transaction, if r still exists without a notice; otherwise it is a
	// conflict on "request".
	RecordRecoveryNotice(ctx context.Context, r RecoveryRequest, n Notice, audit *AuditEvent) error
	// FinishRecoveryRequest deletes the request, with audit when given in
	// the same transaction; a request already gone is not_found.
	FinishRecoveryRequest(ctx context.Context, tenantID, id string, audit *AuditEvent) error
}

// RecoveryLimits are the throttles on recovery requests, each per Window.
// Beyond any of them the answer is the same and nothing is sent.
type RecoveryLimits struct {
	// PerIdentifier bounds the mails one username, barcode or address can
	// cause (default 3): nobody can flood a mailbox through the form.
	PerIdentifier int
	// PerSource bounds one caller's requests over all identifiers
	// (default 20): a sweep over many names from one address stops soon.
	PerSource int
	// PerTenant bounds a library's requests (default 500), so that a
	// distributed sweep cannot spend the deployment's SES quota.
	PerTenant int
	Window    time.Duration // default 1h
}

func (l RecoveryLimits) withDefaults() RecoveryLimits {
	if l.PerIdentifier <= 0 {
		l.PerIdentifier = 3
	}
	if l.PerSource <= 0 {
		l.PerSource = 20
	}
	if l.PerTenant <= 0 {
		l.PerTenant = 500
	}
	if l.Window <= 0 {
		l.Window = time.Hour
	}
	return l
}

const (
	// maxRecoveryIdentifier is the longest identifier read: an e-mail
	// address can be 320 bytes (64 + @ + 255), nothing else is longer.
	maxRecoveryIdentifier = 320
	// recoveryRequestTTL is how long an unanswered request is kept.
	recoveryRequestTTL = 24 * time.Hour
	// maxRecoveryAlso is how many other accounts one recovery mail lists
	// besides the recipient's: a family, not a mailing list.
	maxRecoveryAlso = 10
)

// RecoveryRequestTTL is how long a stored request lives.
const RecoveryRequestTTL = recoveryRequestTTL

// RecoveryActor stands for an anonymous patron's request in the trail.
const RecoveryActor = "self-service"

// ActionRecoveryRequested is the audit action of an answered recovery
// request; its detail says what was done.
const ActionRecoveryRequested = "recovery.requested"

// RequestRecovery takes a patron's forgot-password or forgot-username
// request. Its answer depends on the request's shape only: a well-formed
// request is accepted (nil) whether or not anything matches, and whether or
// not it was within the throttles.
func (s *Service) RequestRecovery(ctx context.Context, in RecoveryInput) error {
	field := "identifier"
	if in.Kind == RecoverUsername {
		field = "email"
	} else if in.Kind != RecoverPassword {
		return Internal(fmt.Errorf("recovery kind %q", in.Kind))
	}
	if err := ValidateTenantID(in.Tenant); err != nil {
		return err
	}
	ident := strings.TrimSpace(in.Identifier)
	switch {
	case ident == "":
		return FieldError(field, "%s is required", field)
	case len(ident) > maxRecoveryIdentifier:
		return FieldError(field, "%s must be at most %d bytes", field, maxRecoveryIdentifier)
	case !utf8.ValidString(ident) || strings.ContainsFunc(ident, unicode.IsControl):
		return FieldError(field, "%s must be text without control characters", field)
	}
	if s.recovery == nil {
		return E(CodeUnavailable, "self-service recovery is not configured for this deployment")
	}
	if !s.recoveryAllowed(ctx, in.Kind, in.Tenant, ident, in.Source) {
		return nil
	}
	now := s.now()
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return Internal(fmt.Errorf("recovery request id: %w", err))
	}
	r := RecoveryRequest{TenantID: in.Tenant, ID: hex.EncodeToString(b[:]), Kind: in.Kind, Identifier: ident, CreatedAt: now}
	// A failure to store or queue is the service's, not an answer about
	// an account: it is the same for every identifier, so it may say so.
	if err := s.store.PutRecoveryRequest(ctx, r); err != nil {
		return fmt.Errorf("store recovery request: %w", err)
	}
	if err := s.recovery.EnqueueRecovery(ctx, RecoveryRef{TenantID: r.TenantID, RequestID: r.ID}); err != nil {
		return fmt.Errorf("queue recovery request %s: %w", r.ID, err)
	}
	s.log.InfoContext(ctx, "recovery request queued", "tenant", r.TenantID, "kind", string(r.Kind), "request", r.ID)
	return nil
}

// recoveryAllowed counts the request against the three throttles, all of
// them every time, and reports whether it is within each. A throttle that
// cannot be read fails closed: the answer stays the same and nothing is
// sent, since a counter outage must not turn the form into a mail cannon;
// the patron can ask again in a minute.
func (s *Service) recoveryAllowed(ctx context.Context, kind RecoveryKind, tenantID, ident, source string) bool {
	lim := s.cfg.RecoveryLimits.withDefaults()
	if source == "" {
		source = "unknown"
	}
	idKey := s.lookupHash("recover-id", tenantID, ident)
	checks := []struct {
		name  string
		key   string
		limit int
	}{
		{"identifier", idKey, lim.PerIdentifier},
		{"source", s.lookupHash("recover-src", "", source), lim.PerSource},
		{"tenant", s.lookupHash("recover-tenant", tenantID, ""), lim.PerTenant},
	}
	allowed := true
	for _, c := range checks {
		ok, err := s.allow(ctx, c.key, c.limit, lim.Window)
		if err != nil {
			s.log.ErrorContext(ctx, "recovery throttle unavailable; request dropped", "tenant", tenantID, "kind", string(kind), "throttle", c.name, "error", err.Error())
			return false
		}
		if !ok {
			// The hash prefix tells repeated requests apart in the log
			// without naming the identifier.
			s.log.WarnContext(ctx, "recovery request over the throttle; dropped", "tenant", tenantID, "kind", string(kind), "throttle", c.name, "identifier_hash", idKey[:12])
			allowed = false
		}
	}
	return allowed
}

// ResolveRecovery answers one stored request: it finds the accounts the
// identifier names and raises the one notice that answers it, or, when
// nothing can be sent, records why. A nil error means the message is done
// with; an error means it should come back. A redelivered message raises
// nothing new.
func (s *Service) ResolveRecovery(ctx context.Context, ref RecoveryRef) error {
	r, err := s.store.GetRecoveryRequest(ctx, ref.TenantID, ref.RequestID)
	if IsCode(err, CodeNotFound) {
		return nil // answered already, or expired
	}
	if err != nil {
		return fmt.Errorf("recovery request %s: %w", ref.RequestID, err)
	}
	if r.NoticeID != "" {
		// An earlier delivery raised the notice and stopped short of
		// queueing it or of finishing: do what is left.
		return s.queueRecoveryNotice(ctx, r, Notice{TenantID: r.TenantID, UserID: r.NoticeUserID, ID: r.NoticeID})
	}
	if _, err := s.store.GetTenant(ctx, r.TenantID); IsCode(err, CodeNotFound) {
		s.log.InfoContext(ctx, "recovery request for an unknown library; dropped", "tenant", r.TenantID, "request", r.ID)
		return s.finishRecovery(ctx, r, nil)
	} else if err != nil {
		return fmt.Errorf("recovery request %s: %w", r.ID, err)
	}
	users, err := s.recoveryAccounts(ctx, r)
	if err != nil {
		return fmt.Errorf("recovery request %s: %w", r.ID, err)
	}
	what := "password recovery"
	kind := NoticePasswordRecovery
	if r.Kind == RecoverUsername {
		what, kind = "username reminder", NoticeUsernameReminder
	}
	if len(users) == 0 {
		// Nobody to put it on in the trail, and the identifier is not
		// logged: it may be a mistyped password.
		s.log.InfoContext(ctx, "recovery request matched no account", "tenant", r.TenantID, "kind", string(r.Kind), "request", r.ID)
		return s.finishRecovery(ctx, r, nil)
	}
	to := users[0]
	if to.Email == "" {
		ev := s.recoveryAudit(ctx, r.TenantID, to, what+": no e-mail address, nothing sent")
		s.log.InfoContext(ctx, "recovery request for an account without e-mail", "tenant", r.TenantID, "user_id", to.ID, "request", r.ID)
		return s.finishRecovery(ctx, r, ev)
	}
	now := s.now()
	id, err := s.newNoticeID(now)
	if err != nil {
		return Internal(err)
	}
	n := Notice{TenantID: r.TenantID, UserID: to.ID, ID: id, Kind: kind, Status: NoticeQueued, CreatedAt: now, UpdatedAt: now}
	for _, u := range users[1:] {
		if len(n.Also) == maxRecoveryAlso {
			n.Params = map[string]string{"moreAccounts": strconv.Itoa(len(users) - 1 - maxRecoveryAlso)}
			break
		}
		n.Also = append(n.Also, u.ID)
	}
	detail := what + ": mailed"
	if len(users) > 1 {
		detail = fmt.Sprintf("%s: mailed, %d accounts at the address", what, len(users))
	}
	if err := s.store.RecordRecoveryNotice(ctx, r, n, s.recoveryAudit(ctx, r.TenantID, to, detail)); err != nil {
		if IsCode(err, CodeConflict) {
			// Another delivery of the message got there first; the
			// message comes back and finds its notice.
			return E(CodeUnavailable, "recovery request %s is being answered", r.ID)
		}
		return fmt.Errorf("recovery request %s: %w", r.ID, err)
	}
	r.NoticeUserID, r.NoticeID = n.UserID, n.ID
	return s.queueRecoveryNotice(ctx, r, n)
}

// queueRecoveryNotice hands the request's notice to the notice worker and
// ends the request. Queueing twice is harmless: a notice is sent once.
func (s *Service) queueRecoveryNotice(ctx context.Context, r RecoveryRequest, n Notice) error {
	if s.notices == nil {
		return E(CodeUnavailable, "this function cannot queue notices (no NOTICE_QUEUE_URL)")
	}
	if err := s.notices.Enqueue(ctx, n.ref(), 0); err != nil {
		return fmt.Errorf("queue recovery notice %s: %w", n.ID, err)
	}
	s.log.InfoContext(ctx, "recovery notice queued", "tenant", r.TenantID, "user_id", n.UserID, "notice", n.ID, "request", r.ID)
	return s.finishRecovery(ctx, r, nil)
}

func (s *Service) finishRecovery(ctx context.Context, r RecoveryRequest, audit *AuditEvent) error {
	if err := s.store.FinishRecoveryRequest(ctx, r.TenantID, r.ID, audit); err != nil && !IsCode(err, CodeNotFound) {
		return fmt.Errorf("finish recovery request %s: %w", r.ID, err)
	}
	return nil
}

func (s *Service) recoveryAudit(ctx context.Context, tenantID string, target User, detail string) *AuditEvent {
	ev := s.audit(ctx, Principal{TenantID: tenantID, UserID: RecoveryActor, Username: RecoveryActor}, ActionRecoveryRequested, target)
	ev.Detail = detail
	return ev
}

// recoveryAccounts finds what a request names, the recipient first. For
// "forgot password" a username names its account, else a barcode does;
// only an e-mail address names every account at it (a family). "Forgot
// username" names the accounts at an address.
func (s *Service) recoveryAccounts(ctx context.Context, r RecoveryRequest) ([]User, error) {
	if r.Kind == RecoverPassword {
		u, err := s.store.GetUserByUsername(ctx, r.TenantID, UsernameKey(r.Identifier))
		if err == nil {
			return []User{u}, nil
		}
		if !IsCode(err, CodeNotFound) {
			return nil, err
		}
		if u, err = s.store.GetUserByBarcode(ctx, r.TenantID, IdentifierKey(r.Identifier)); err == nil {
			return []User{u}, nil
		}
		if !IsCode(err, CodeNotFound) {
			return nil, err
		}
	}
	if !strings.Contains(r.Identifier, "@") {
		return nil, nil
	}
	users, err := s.store.FindUsersByEmail(ctx, r.TenantID, EmailKey(r.Identifier))
	if err != nil {
		return nil, err
	}
	// The index is eventually consistent: keep only what still holds.
	users = slices.DeleteFunc(users, func(u User) bool { return EmailKey(u.Email) != EmailKey(r.Identifier) })
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(UsernameKey(a.Username), UsernameKey(b.Username)) })
	return users, nil
}

// recoveryLetter fills {{accounts}} of a recovery notice now that its
// sender holds the claim: for "forgot password", a new single-use link per
// active account still at the recipient's address, each made under the
// claim so that a delivery that lost it makes none.
func (s *Service) recoveryLetter(ctx context.Context, t Tenant, to User, claim Notice, data map[string]string) error {
	users := []User{to}
	for _, id := range claim.Also {
		u, err := s.store.GetUser(ctx, to.TenantID, id)
		if IsCode(err, CodeNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recovery notice: %w", err)
		}
		if EmailKey(u.Email) == EmailKey(to.Email) {
			users = append(users, u)
		}
	}
	var b strings.Builder
	if claim.Kind == NoticeUsernameReminder {
		for _, u := range users {
			b.WriteString("  " + u.Username)
			var notes []string
			if u.Barcode != "" {
				notes = append(notes, "barcode ending "+lastRunes(u.Barcode, 4))
			}
			if u.Status != StatusActive {
				notes = append(notes, "not active: contact "+t.Sender())
			}
			if len(notes) > 0 {
				b.WriteString(" (" + strings.Join(notes, "; ") + ")")
			}
			b.WriteString("\n")
		}
		s.moreAccounts(&b, t, claim)
		data["accounts"] = strings.TrimRight(b.String(), "\n")
		return nil
	}
	if s.cfg.ResetPageURL == "" {
		return E(CodeUnavailable, "reset links are not configured for this deployment (no reset page URL)")
	}
	now := s.now()
	ttl := time.Duration(t.Settings.RecoveryLinkTTL)
	for i, u := range users {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Username: " + u.Username + "\n")
		if u.Status != StatusActive {
			b.WriteString("This account is not active: contact " + t.Sender() + ".\n")
			continue
		}
		token, err := newToken(s.rand, u.TenantID, u.ID)
		if err != nil {
			return Internal(err)
		}
		rt := ResetToken{TenantID: u.TenantID, UserID: u.ID, ID: SessionIDOf(token), CreatedAt: now, ExpiresAt: now.Add(ttl), Epoch: u.CredentialEpoch + 1}
		if err := s.store.PutClaimedResetToken(ctx, claim, rt); err != nil {
			return claimErr(err)
		}
		b.WriteString(s.cfg.ResetPageURL + "#token=" + url.QueryEscape(token) + "\n")
	}
	s.moreAccounts(&b, t, claim)
	data["accounts"] = strings.TrimRight(b.String(), "\n")
	data["linkLifetime"], data["linkExpiresAt"] = LifetimeText(ttl), LetterTime(now.Add(ttl))
	return nil
}

func (s *Service) moreAccounts(b *strings.Builder, t Tenant, claim Notice) {
	if more, _ := strconv.Atoi(claim.Params["moreAccounts"]); more > 0 {
		fmt.Fprintf(b, "\nand %d more accounts at this address: contact %s.\n", more, t.Sender())
	}
}

// lastRunes is the end of s, at most n characters of it.
func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

// sampleRecoveryValues stand in for a family's accounts in a preview.
func (s *Service) sampleRecoveryValues(t Tenant, kind NoticeKind) map[string]string {
	if kind == NoticeUsernameReminder {
		return map[string]string{"accounts": "  sample.parent (barcode ending 1234)\n  sample.child (barcode ending 5678)"}
	}
	page := s.cfg.ResetPageURL
	if page == "" {
		page = "https://library.example/reset"
	}
	return map[string]string{
		"accounts":      "Username: sample.parent\n" + page + "#token=example-1\n\nUsername: sample.child\n" + page + "#token=example-2",
		"linkExpiresAt": LetterTime(s.now().Add(time.Duration(t.Settings.RecoveryLinkTTL))),
	}
}
