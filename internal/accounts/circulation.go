package accounts

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The ILS is the system of record for circulation. Circulation is what this
// service asks of it; internal/dynamostore keeps the records in the
// patron's partition, fed by staff or an ILS through the staff routes, and
// an adapter for SIP2, NCIP or Koha's REST API would answer the same calls
// (README.md maps them). The rules a library sets here (renewal limit and
// window, no pickup change once a hold is on its way) are checked by the
// domain before the port is asked, so every adapter refuses alike.

// Checkout is one loan: the fields SIP2, NCIP, Koha and FOLIO share.
type Checkout struct {
	TenantID        string
	PatronID        string
	ID              string
	ItemBarcode     string
	Title           string
	CheckedOutAt    time.Time
	DueAt           time.Time
	RenewalsUsed    int
	RenewalsAllowed int // 0: the library's renewal limit
	// OthersWaiting is how many other patrons hold the item: no renewal
	// while one waits.
	OthersWaiting int
	UpdatedAt     time.Time
}

// HoldStatus is where a hold stands.
type HoldStatus string

const (
	HoldPending   HoldStatus = "pending"
	HoldInTransit HoldStatus = "in_transit"
	HoldReady     HoldStatus = "ready"
	HoldFinished  HoldStatus = "finished"
)

// Hold is one request for an item.
type Hold struct {
	TenantID       string
	PatronID       string
	ID             string
	Title          string
	ItemBarcode    string
	PlacedAt       time.Time
	Status         HoldStatus
	QueuePosition  int
	PickupLocation string
	ExpiresAt      time.Time
	SuspendedUntil time.Time
	UpdatedAt      time.Time
}

// Circulation is the port to the system of record.
type Circulation interface {
	ListCheckouts(ctx context.Context, tenantID, patronID string) ([]Checkout, error)
	GetCheckout(ctx context.Context, tenantID, patronID, id string) (Checkout, error)
	// PutCheckout records a loan as the ILS reports it (the feed).
	PutCheckout(ctx context.Context, c Checkout) error
	// Renew stores next if the loan is still as prev was read; a changed
	// loan is a conflict.
	Renew(ctx context.Context, prev, next Checkout) error
	ListHolds(ctx context.Context, tenantID, patronID string) ([]Hold, error)
	GetHold(ctx context.Context, tenantID, patronID, id string) (Hold, error)
	// PutHold records a hold as the ILS reports it (the feed).
	PutHold(ctx context.Context, h Hold) error
	// PlaceHold records a new request; an existing id is a conflict.
	PlaceHold(ctx context.Context, h Hold) error
	// UpdateHold stores next if the hold is still as prev was read.
	UpdateHold(ctx context.Context, prev, next Hold) error
	CancelHold(ctx context.Context, h Hold) error
}

// Activity is one thing done on an account, and by whom: the managed
// account sees what its linked accounts did for it.
type Activity struct {
	TenantID      string
	UserID        string // the account acted on
	ID            string
	At            time.Time
	ActorID       string
	ActorUsername string
	Action        string
	Subject       string // a title, or the other account of a link
}

// Activity actions.
const (
	ActivityLinkCreated   = "link.created"
	ActivityLinkConfirmed = "link.confirmed"
	ActivityLinkRemoved   = "link.removed"
	ActivityRenewed       = "checkout.renewed"
	ActivityHoldPlaced    = "hold.placed"
	ActivityHoldCancelled = "hold.cancelled"
	ActivityHoldChanged   = "hold.changed"
)

// Audit actions of linked accounts.
const (
	ActionSharePhraseCreate = "share_phrase.create"
	ActionSharePhraseRevoke = "share_phrase.revoke"
	ActionLinkCreate        = "link.create"
	ActionLinkConfirm       = "link.confirm"
	ActionLinkDelete        = "link.delete"
)

const (
	// ActivityRetention is how long an account's activity is kept.
	ActivityRetention = 400 * 24 * time.Hour
	maxActivity       = 200
	maxTitle          = 300
	maxPickup         = 100
)

var circIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

func (s *Service) recordActivity(ctx context.Context, p Principal, on, action, subject string) {
	a := Activity{TenantID: p.TenantID, UserID: on, ID: newEventID(s.rand), At: s.now(), ActorID: p.UserID, ActorUsername: p.Username, Action: action, Subject: Truncate(subject, maxTitle)}
	if p.IsAdmin() && p.UserID != on {
		a.ActorUsername = "library staff"
	}
	if err := s.store.PutActivity(ctx, a); err != nil {
		// The action is done; losing its line is logged for staff.
		s.log.ErrorContext(ctx, "activity not recorded", "tenant", p.TenantID, "user_id", on, "action", action, "error", err.Error())
	}
}

func (s *Service) linkActivity(ctx context.Context, p Principal, l Link, action string) {
	for _, id := range []string{l.OwnerID, l.ConnectorID} {
		other := l.Other(id)
		name := other
		if u, err := s.store.GetUser(ctx, p.TenantID, other); err == nil {
			name = u.Username
		}
		s.recordActivity(ctx, p, id, action, name)
	}
}

// ListActivity shows the caller what was done on their account, newest
// first.
func (s *Service) ListActivity(ctx context.Context, c Caller) ([]Activity, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return nil, err
	}
	return s.store.ListActivity(ctx, p.TenantID, p.UserID, maxActivity)
}

func (s *Service) circ() (Circulation, error) {
	if s.circulation == nil {
		return nil, E(CodeUnavailable, "no circulation system is configured for this deployment")
	}
	return s.circulation, nil
}

// patronCall resolves the principal, the account acted on, and the port.
func (s *Service) patronCall(ctx context.Context, c Caller, id string) (Principal, User, Circulation, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	circ, err := s.circ()
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	u, err := s.patron(ctx, p, id)
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	return p, u, circ, nil
}

// PatronCheckouts lists the loans of the caller or of an account the caller
// manages.
func (s *Service) PatronCheckouts(ctx context.Context, c Caller, id string) ([]Checkout, Settings, error) {
	p, u, circ, err := s.patronCall(ctx, c, id)
	if err != nil {
		return nil, Settings{}, err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return nil, Settings{}, fmt.Errorf("checkouts: %w", err)
	}
	out, err := circ.ListCheckouts(ctx, p.TenantID, u.ID)
	return out, t.Settings, err
}

// EffectiveRenewals is how many renewals a loan allows under settings.
func (c Checkout) EffectiveRenewals(st Settings) int {
	if c.RenewalsAllowed > 0 {
		return c.RenewalsAllowed
	}
	return st.RenewalLimit
}

// Renew renews a loan by its original loan period, after the library's
// rules; each refusal says which rule.
func (s *Service) Renew(ctx context.Context, c Caller, id, loanID string) (Checkout, Settings, error) {
	p, u, circ, err := s.patronCall(ctx, c, id)
	if err != nil {
		return Checkout{}, Settings{}, err
	}
	if !circIDPattern.MatchString(loanID) {
		return Checkout{}, Settings{}, E(CodeNotFound, "checkout not found")
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return Checkout{}, Settings{}, fmt.Errorf("renew: %w", err)
	}
	prev, err := circ.GetCheckout(ctx, p.TenantID, u.ID, loanID)
	if err != nil {
		return Checkout{}, Settings{}, err
	}
	now := s.now()
	window := time.Duration(t.Settings.RenewalWindowDays) * 24 * time.Hour
	switch limit := prev.EffectiveRenewals(t.Settings); {
	case prev.RenewalsUsed >= limit:
		return Checkout{}, Settings{}, E(CodeConflict, "not renewed: the renewal limit is reached (%d of %d renewals used)", prev.RenewalsUsed, limit)
	case prev.OthersWaiting > 0:
		return Checkout{}, Settings{}, E(CodeConflict, "not renewed: another patron is waiting for this item")
	case now.Before(prev.DueAt.Add(-window)):
		return Checkout{}, Settings{}, E(CodeConflict, "not renewed: too early; renewals open %d days before the due date, on %s", t.Settings.RenewalWindowDays, prev.DueAt.Add(-window).Format("2006-01-02"))
	}
	next := prev
	period := prev.DueAt.Sub(prev.CheckedOutAt)
	if period <= 0 {
		period = 14 * 24 * time.Hour
	}
	if prev.RenewalsUsed > 0 {
		// DueAt has moved: the loan period is what each renewal added.
		period = time.Duration(int64(period) / int64(prev.RenewalsUsed+1))
	}
	base := prev.DueAt
	if now.After(base) {
		base = now
	}
	next.DueAt, next.RenewalsUsed, next.UpdatedAt = base.Add(period), prev.RenewalsUsed+1, now
	if err := circ.Renew(ctx, prev, next); err != nil {
		return Checkout{}, Settings{}, err
	}
	s.recordActivity(ctx, p, u.ID, ActivityRenewed, prev.Title)
	s.log.InfoContext(ctx, "checkout renewed", "tenant", p.TenantID, "user_id", u.ID, "by", p.UserID, "loan", loanID)
	return next, t.Settings, nil
}

// PatronHolds lists the holds of the caller or of an account it manages.
func (s *Service) PatronHolds(ctx context.Context, c Caller, id string) ([]Hold, error) {
	p, u, circ, err := s.patronCall(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return circ.ListHolds(ctx, p.TenantID, u.ID)
}

// HoldRequest is a new request a patron places for themselves.
type HoldRequest struct {
	Title          string
	ItemBarcode    string
	PickupLocation string
}

// PlaceHold places a new request. It is the borrow fence: only for the
// caller's own account; a linked holder must sign in to the other account.
func (s *Service) PlaceHold(ctx context.Context, c Caller, id string, in HoldRequest) (Hold, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return Hold{}, err
	}
	if id != Self && id != p.UserID {
		if _, err := s.patron(ctx, p, id); err != nil {
			return Hold{}, err
		}
		return Hold{}, E(CodeForbidden, "sign in to that account to place a request")
	}
	circ, err := s.circ()
	if err != nil {
		return Hold{}, err
	}
	title, err := circText("title", "title", in.Title, maxTitle, true)
	if err != nil {
		return Hold{}, err
	}
	pickup, err := circText("pickupLocation", "pickup location", in.PickupLocation, maxPickup, true)
	if err != nil {
		return Hold{}, err
	}
	item, err := normalizeIdentifier("itemBarcode", "item barcode", in.ItemBarcode)
	if err != nil {
		return Hold{}, err
	}
	hid, err := s.newLinkID()
	if err != nil {
		return Hold{}, err
	}
	now := s.now()
	h := Hold{TenantID: p.TenantID, PatronID: p.UserID, ID: hid, Title: title, ItemBarcode: item, PlacedAt: now, Status: HoldPending, PickupLocation: pickup, UpdatedAt: now}
	if err := circ.PlaceHold(ctx, h); err != nil {
		return Hold{}, err
	}
	s.recordActivity(ctx, p, p.UserID, ActivityHoldPlaced, title)
	return h, nil
}

// CancelHold cancels a hold that has not finished.
func (s *Service) CancelHold(ctx context.Context, c Caller, id, holdID string) error {
	p, u, circ, err := s.patronCall(ctx, c, id)
	if err != nil {
		return err
	}
	h, err := s.holdOf(ctx, circ, p.TenantID, u.ID, holdID)
	if err != nil {
		return err
	}
	if h.Status == HoldFinished {
		return E(CodeConflict, "not cancelled: the hold has already finished")
	}
	if err := circ.CancelHold(ctx, h); err != nil {
		return err
	}
	s.recordActivity(ctx, p, u.ID, ActivityHoldCancelled, h.Title)
	s.log.InfoContext(ctx, "hold cancelled", "tenant", p.TenantID, "user_id", u.ID, "by", p.UserID, "hold", holdID)
	return nil
}

func (s *Service) holdOf(ctx context.Context, circ Circulation, tenantID, patronID, holdID string) (Hold, error) {
	if !circIDPattern.MatchString(holdID) {
		return Hold{}, E(CodeNotFound, "hold not found")
	}
	return circ.GetHold(ctx, tenantID, patronID, holdID)
}

// HoldPatch changes a hold: its pickup location, or suspends it until a
// date, or resumes it (Resume).
type HoldPatch struct {
	PickupLocation *string
	SuspendUntil   *time.Time
	Resume         bool
}

// UpdateHold applies a patron's change to a hold, after the rules: no
// pickup change once the hold is ready or in transit, no suspending a hold
// that is on its way.
func (s *Service) UpdateHold(ctx context.Context, c Caller, id, holdID string, patch HoldPatch) (Hold, error) {
	p, u, circ, err := s.patronCall(ctx, c, id)
	if err != nil {
		return Hold{}, err
	}
	if patch.PickupLocation == nil && patch.SuspendUntil == nil && !patch.Resume {
		return Hold{}, E(CodeInvalid, "send pickupLocation, suspendUntil, or resume: true")
	}
	if patch.SuspendUntil != nil && patch.Resume {
		return Hold{}, FieldError("resume", "send either suspendUntil or resume, not both")
	}
	prev, err := s.holdOf(ctx, circ, p.TenantID, u.ID, holdID)
	if err != nil {
		return Hold{}, err
	}
	next := prev
	now := s.now()
	if prev.Status == HoldFinished {
		return Hold{}, E(CodeConflict, "not changed: the hold has finished")
	}
	if patch.PickupLocation != nil {
		pickup, err := circText("pickupLocation", "pickup location", *patch.PickupLocation, maxPickup, true)
		if err != nil {
			return Hold{}, err
		}
		if pickup != prev.PickupLocation && (prev.Status == HoldReady || prev.Status == HoldInTransit) {
			return Hold{}, &Error{Code: CodeConflict, Field: "pickupLocation", Message: fmt.Sprintf("pickup location not changed: the hold is %s; ask the library", holdStatusText(prev.Status))}
		}
		next.PickupLocation = pickup
	}
	if patch.SuspendUntil != nil {
		until := patch.SuspendUntil.UTC()
		switch {
		case prev.Status != HoldPending:
			return Hold{}, &Error{Code: CodeConflict, Field: "suspendUntil", Message: fmt.Sprintf("not suspended: the hold is %s", holdStatusText(prev.Status))}
		case !until.After(now):
			return Hold{}, FieldError("suspendUntil", "suspendUntil must be in the future")
		case until.After(now.Add(366 * 24 * time.Hour)):
			return Hold{}, FieldError("suspendUntil", "a hold may be suspended for at most a year")
		}
		next.SuspendedUntil = until
	}
	if patch.Resume {
		next.SuspendedUntil = time.Time{}
	}
	next.UpdatedAt = now
	if err := circ.UpdateHold(ctx, prev, next); err != nil {
		return Hold{}, err
	}
	s.recordActivity(ctx, p, u.ID, ActivityHoldChanged, prev.Title)
	return next, nil
}

func holdStatusText(st HoldStatus) string {
	if st == HoldInTransit {
		return "in transit"
	}
	if st == HoldReady {
		return "ready for pickup"
	}
	return string(st)
}

func circText(field, label, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", FieldError(field, "%s is required", label)
		}
		return "", nil
	}
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
		return "", FieldError(field, "%s must be at most %d characters, without control characters", label, max)
	}
	return v, nil
}

// AdminCheckouts lists a user's loans for staff.
func (s *Service) AdminCheckouts(ctx context.Context, c Caller, userID string) ([]Checkout, error) {
	p, u, circ, err := s.adminCirc(ctx, c, userID)
	if err != nil {
		return nil, err
	}
	return circ.ListCheckouts(ctx, p.TenantID, u.ID)
}

// AdminHolds lists a user's holds for staff.
func (s *Service) AdminHolds(ctx context.Context, c Caller, userID string) ([]Hold, error) {
	p, u, circ, err := s.adminCirc(ctx, c, userID)
	if err != nil {
		return nil, err
	}
	return circ.ListHolds(ctx, p.TenantID, u.ID)
}

func (s *Service) adminCirc(ctx context.Context, c Caller, userID string) (Principal, User, Circulation, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	circ, err := s.circ()
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	u, err := s.targetUser(ctx, p, userID)
	if err != nil {
		return Principal{}, User{}, nil, err
	}
	return p, u, circ, nil
}

// FeedCheckout records a loan as staff or the ILS report it.
func (s *Service) FeedCheckout(ctx context.Context, c Caller, userID string, in Checkout) (Checkout, error) {
	p, u, circ, err := s.adminCirc(ctx, c, userID)
	if err != nil {
		return Checkout{}, err
	}
	if !circIDPattern.MatchString(in.ID) {
		return Checkout{}, FieldError("id", "id must be 1-64 letters, digits, '.', '_', ':' or '-' (the ILS's loan id)")
	}
	if in.Title, err = circText("title", "title", in.Title, maxTitle, true); err != nil {
		return Checkout{}, err
	}
	if in.ItemBarcode, err = normalizeIdentifier("itemBarcode", "item barcode", in.ItemBarcode); err != nil {
		return Checkout{}, err
	}
	switch {
	case in.CheckedOutAt.IsZero():
		return Checkout{}, FieldError("checkedOutAt", "checkedOutAt is required")
	case !in.DueAt.After(in.CheckedOutAt):
		return Checkout{}, FieldError("dueAt", "dueAt must be after checkedOutAt")
	case in.RenewalsUsed < 0 || in.RenewalsUsed > 100:
		return Checkout{}, FieldError("renewalsUsed", "renewalsUsed must be between 0 and 100")
	case in.RenewalsAllowed < 0 || in.RenewalsAllowed > 100:
		return Checkout{}, FieldError("renewalsAllowed", "renewalsAllowed must be between 0 and 100 (0: the library's limit)")
	case in.OthersWaiting < 0:
		return Checkout{}, FieldError("othersWaiting", "othersWaiting must not be negative")
	}
	in.TenantID, in.PatronID, in.UpdatedAt = p.TenantID, u.ID, s.now()
	in.CheckedOutAt, in.DueAt = in.CheckedOutAt.UTC(), in.DueAt.UTC()
	if err := circ.PutCheckout(ctx, in); err != nil {
		return Checkout{}, err
	}
	return in, nil
}

// FeedHold records a hold as staff or the ILS report it.
func (s *Service) FeedHold(ctx context.Context, c Caller, userID string, in Hold) (Hold, error) {
	p, u, circ, err := s.adminCirc(ctx, c, userID)
	if err != nil {
		return Hold{}, err
	}
	if !circIDPattern.MatchString(in.ID) {
		return Hold{}, FieldError("id", "id must be 1-64 letters, digits, '.', '_', ':' or '-' (the ILS's hold id)")
	}
	if in.Title, err = circText("title", "title", in.Title, maxTitle, true); err != nil {
		return Hold{}, err
	}
	if in.PickupLocation, err = circText("pickupLocation", "pickup location", in.PickupLocation, maxPickup, false); err != nil {
		return Hold{}, err
	}
	if in.ItemBarcode, err = normalizeIdentifier("itemBarcode", "item barcode", in.ItemBarcode); err != nil {
		return Hold{}, err
	}
	switch in.Status {
	case HoldPending, HoldInTransit, HoldReady, HoldFinished:
	case "":
		in.Status = HoldPending
	default:
		return Hold{}, FieldError("status", "status must be pending, in_transit, ready or finished")
	}
	if in.QueuePosition < 0 {
		return Hold{}, FieldError("queuePosition", "queuePosition must not be negative")
	}
	if in.PlacedAt.IsZero() {
		return Hold{}, FieldError("placedAt", "placedAt is required")
	}
	in.TenantID, in.PatronID, in.UpdatedAt = p.TenantID, u.ID, s.now()
	in.PlacedAt, in.ExpiresAt, in.SuspendedUntil = in.PlacedAt.UTC(), utcOrZero(in.ExpiresAt), utcOrZero(in.SuspendedUntil)
	if err := circ.PutHold(ctx, in); err != nil {
		return Hold{}, err
	}
	return in, nil
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
