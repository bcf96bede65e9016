package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/passphrase"
)

// Linked accounts (the Auckland-style "Connected Accounts"): one account
// gets a share phrase, another connects to it with the first one's barcode
// and the phrase, and from then on the phrase's owner manages the
// connector's checkouts and holds. With a two-way phrase the connector may
// manage the owner too, but only once the owner confirms: a leaked two-way
// phrase would otherwise be a key to its owner's account.

// LinkDirection is what a share phrase, and the link made with it, allows.
type LinkDirection string

const (
	// LinkOneWay: the phrase's owner manages the connector (a parent and
	// a child); the connector does not see the owner.
	LinkOneWay LinkDirection = "one_way"
	// LinkTwoWay: each manages the other, the connector the owner only
	// after the owner confirms.
	LinkTwoWay LinkDirection = "two_way"
)

// SharePhrase is an active phrase as the store keeps it: its keyed hash,
// never the words.
type SharePhrase struct {
	TenantID  string
	OwnerID   string
	ID        string
	Direction LinkDirection
	Hash      string
	CreatedAt time.Time
}

// Link connects two accounts of one tenant. OwnerID manages ConnectorID
// from the start; with a two-way link ConnectorID manages OwnerID once
// ConfirmedAt is set.
type Link struct {
	TenantID    string
	ID          string
	OwnerID     string
	ConnectorID string
	Direction   LinkDirection
	PhraseID    string
	CreatedAt   time.Time
	ConfirmedAt time.Time
}

// Other is the account at the other end from userID.
func (l Link) Other(userID string) string {
	if userID == l.OwnerID {
		return l.ConnectorID
	}
	return l.OwnerID
}

// Manages reports whether the link lets manager manage managed.
func (l Link) Manages(manager, managed string) bool {
	switch {
	case manager == l.OwnerID && managed == l.ConnectorID:
		return true
	case manager == l.ConnectorID && managed == l.OwnerID:
		return l.Direction == LinkTwoWay && !l.ConfirmedAt.IsZero()
	}
	return false
}

// AwaitingConfirmation reports whether the reverse direction of a two-way
// link is not yet live.
func (l Link) AwaitingConfirmation() bool {
	return l.Direction == LinkTwoWay && l.ConfirmedAt.IsZero()
}

// LinkStore keeps share phrases and links in their accounts' partitions.
type LinkStore interface {
	PutSharePhrase(ctx context.Context, p SharePhrase, audit *AuditEvent) error
	ListSharePhrases(ctx context.Context, tenantID, ownerID string) ([]SharePhrase, error)
	// DeleteSharePhrase is not found when the phrase is not the owner's.
	DeleteSharePhrase(ctx context.Context, tenantID, ownerID, id string, audit *AuditEvent) error
	// CreateLink writes the link into both accounts' partitions at once;
	// two accounts already linked are a conflict.
	CreateLink(ctx context.Context, l Link, audit *AuditEvent) error
	// GetLinkBetween reads the link of userID with otherID from userID's
	// partition.
	GetLinkBetween(ctx context.Context, tenantID, userID, otherID string) (Link, error)
	ListLinks(ctx context.Context, tenantID, userID string) ([]Link, error)
	// ConfirmLink sets l.ConfirmedAt on both sides if both still exist
	// unconfirmed; otherwise not found.
	ConfirmLink(ctx context.Context, l Link, audit *AuditEvent) error
	// DeleteLink removes both sides.
	DeleteLink(ctx context.Context, l Link, audit *AuditEvent) error
	PutActivity(ctx context.Context, a Activity) error
	ListActivity(ctx context.Context, tenantID, userID string, limit int) ([]Activity, error)
}

const (
	// sharePhraseWords: six words of 7,776 are 77.5 bits. The issue asks
	// for at least five (64.6 bits); the sixth is what lets a fast keyed
	// hash stand in for argon2id (see phraseHash).
	sharePhraseWords = 6
	maxSharePhrases  = 5
	maxLinks         = 20
	// A patron types a phrase or two wrongly; a guesser needs 2^76 tries.
	// Ten attempts an hour per barcode and per caller is plenty for the
	// first and nothing for the second.
	linkAttemptsPerHour = 10
)

// linkPlaceholders are what every link notice may say.
var linkPlaceholders = []Placeholder{
	{Name: "otherAccount", Description: "the username of the other account of the link"},
	{Name: "summary", Description: "what happened and what each account can now do", Required: true},
}

var linkIDPattern = regexp.MustCompile(`^[0-9a-f]{20}$`)

// errLinkRefused is the one answer to a connection that does not happen:
// unknown barcode, wrong or revoked phrase, one's own account, linking
// turned off. Telling them apart would let a stranger
// learn which barcodes exist and when a guess came close.
func errLinkRefused() error {
	return FieldError("phrase", "that barcode and share phrase do not connect to an account")
}

// phraseHash is HMAC-SHA-256 under the lookup key of the phrase, bound to
// its tenant, owner and id. A fast hash is enough here, unlike for
// passwords: the phrase is 77 random bits chosen by the server, not a
// human's choice, so there is no dictionary to try first; even with the
// table and the key, exhausting it at 10^10 hashes a second takes
// millions of years. The key keeps a leaked table alone from being tried
// offline at all, and online tries are throttled.
func (s *Service) phraseHash(tenantID, ownerID, phraseID, phrase string) string {
	key := s.cfg.LookupKey
	if len(key) == 0 {
		key = fallbackLookupKey
	}
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"share-phrase", tenantID, ownerID, phraseID, passphrase.Normalize(phrase)} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) newLinkID() (string, error) {
	id := newEventID(s.rand)
	if id == "0" {
		return "", Internal(fmt.Errorf("link id: no randomness"))
	}
	return id, nil
}

func parseDirection(v string) (LinkDirection, error) {
	switch LinkDirection(strings.TrimSpace(v)) {
	case LinkOneWay:
		return LinkOneWay, nil
	case LinkTwoWay:
		return LinkTwoWay, nil
	}
	return "", FieldError("direction", "direction must be one_way (you manage the connected account) or two_way (you manage each other)")
}

// linkingOn checks the library's setting.
func (s *Service) linkingOn(ctx context.Context, tenantID string) (Tenant, bool, error) {
	t, err := s.store.GetTenant(ctx, tenantID)
	if err != nil {
		return Tenant{}, false, fmt.Errorf("read settings: %w", err)
	}
	return t, !t.Settings.LinkingDisabled, nil
}

// NewSharePhrase is a phrase as its owner sees it, this once.
type NewSharePhrase struct {
	SharePhrase
	Phrase string
}

// CreateSharePhrase makes an active phrase for the caller; the words are
// returned once and never stored.
func (s *Service) CreateSharePhrase(ctx context.Context, c Caller, direction string) (NewSharePhrase, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return NewSharePhrase{}, err
	}
	dir, err := parseDirection(direction)
	if err != nil {
		return NewSharePhrase{}, err
	}
	if _, on, err := s.linkingOn(ctx, p.TenantID); err != nil {
		return NewSharePhrase{}, err
	} else if !on {
		return NewSharePhrase{}, E(CodeForbidden, "the library has turned linked accounts off")
	}
	have, err := s.store.ListSharePhrases(ctx, p.TenantID, p.UserID)
	if err != nil {
		return NewSharePhrase{}, fmt.Errorf("list share phrases: %w", err)
	}
	if len(have) >= maxSharePhrases {
		return NewSharePhrase{}, E(CodeConflict, "you have %d active share phrases, the most there may be; revoke one first", len(have))
	}
	words, err := passphrase.Generate(s.rand, sharePhraseWords)
	if err != nil {
		return NewSharePhrase{}, Internal(err)
	}
	id, err := s.newLinkID()
	if err != nil {
		return NewSharePhrase{}, err
	}
	sp := SharePhrase{TenantID: p.TenantID, OwnerID: p.UserID, ID: id, Direction: dir, CreatedAt: s.now()}
	sp.Hash = s.phraseHash(p.TenantID, p.UserID, id, words)
	ev := s.audit(ctx, p, ActionSharePhraseCreate, User{ID: p.UserID, Username: p.Username})
	ev.Detail = string(dir)
	if err := s.store.PutSharePhrase(ctx, sp, ev); err != nil {
		return NewSharePhrase{}, s.storeErr("create share phrase of", p.UserID, err)
	}
	s.log.InfoContext(ctx, "share phrase created", "tenant", p.TenantID, "user_id", p.UserID, "phrase_id", id, "direction", string(dir))
	return NewSharePhrase{SharePhrase: sp, Phrase: words}, nil
}

// ListSharePhrases lists the caller's active phrases (never their words).
func (s *Service) ListSharePhrases(ctx context.Context, c Caller) ([]SharePhrase, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return nil, err
	}
	return s.store.ListSharePhrases(ctx, p.TenantID, p.UserID)
}

// RevokeSharePhrase ends a phrase; links made with it stay.
func (s *Service) RevokeSharePhrase(ctx context.Context, c Caller, id string) error {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return err
	}
	if !linkIDPattern.MatchString(id) {
		return E(CodeNotFound, "share phrase not found")
	}
	ev := s.audit(ctx, p, ActionSharePhraseRevoke, User{ID: p.UserID, Username: p.Username})
	if err := s.store.DeleteSharePhrase(ctx, p.TenantID, p.UserID, id, ev); err != nil {
		return s.storeErr("revoke share phrase", id, err)
	}
	return nil
}

// LinkView is a link as one of its accounts (or staff) sees it.
type LinkView struct {
	Link
	// Other is the account at the other end.
	Other User
	// IManage and ManagesMe say what the link does for the viewer now.
	IManage, ManagesMe bool
	// Active is false while either account is deactivated or the library
	// has turned linking off: the link then does nothing.
	Active bool
}

// Connect links the caller's account (the one to be managed) to the owner
// of barcode's share phrase.
func (s *Service) Connect(ctx context.Context, c Caller, barcode, phrase string) (LinkView, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return LinkView{}, err
	}
	// Both counters count every attempt before anything is looked at, so
	// that a refusal past the limit says nothing about the phrase.
	byCaller, err := s.allow(ctx, s.lookupHash("link-caller", p.TenantID, p.UserID), linkAttemptsPerHour, time.Hour)
	if err != nil {
		return LinkView{}, fmt.Errorf("link throttle: %w", err)
	}
	byBarcode, err := s.allow(ctx, s.lookupHash("link-barcode", p.TenantID, IdentifierKey(barcode)), linkAttemptsPerHour, time.Hour)
	if err != nil {
		return LinkView{}, fmt.Errorf("link throttle: %w", err)
	}
	if !byCaller || !byBarcode {
		s.log.InfoContext(ctx, "link attempt throttled", "tenant", p.TenantID, "user_id", p.UserID)
		return LinkView{}, &Error{Code: CodeTooManyRequests, Message: "too many attempts to connect an account; try again in an hour", RetryAfter: time.Hour}
	}
	t, on, err := s.linkingOn(ctx, p.TenantID)
	if err != nil {
		return LinkView{}, err
	}
	barcode = strings.TrimSpace(barcode)
	if !on || barcode == "" || len(barcode) > maxIdentifier || strings.TrimSpace(phrase) == "" || len(phrase) > 400 {
		return LinkView{}, errLinkRefused()
	}
	owner, err := s.store.GetUserByBarcode(ctx, p.TenantID, IdentifierKey(barcode))
	if IsCode(err, CodeNotFound) {
		return LinkView{}, errLinkRefused()
	}
	if err != nil {
		return LinkView{}, fmt.Errorf("connect: %w", err)
	}
	if owner.ID == p.UserID || owner.Status != StatusActive {
		return LinkView{}, errLinkRefused()
	}
	phrases, err := s.store.ListSharePhrases(ctx, p.TenantID, owner.ID)
	if err != nil {
		return LinkView{}, fmt.Errorf("connect: %w", err)
	}
	var used *SharePhrase
	for i := range phrases {
		if hmac.Equal([]byte(phrases[i].Hash), []byte(s.phraseHash(p.TenantID, owner.ID, phrases[i].ID, phrase))) {
			used = &phrases[i]
		}
	}
	if used == nil {
		s.log.InfoContext(ctx, "link attempt refused", "tenant", p.TenantID, "user_id", p.UserID)
		return LinkView{}, errLinkRefused()
	}
	for _, id := range []string{p.UserID, owner.ID} {
		have, err := s.store.ListLinks(ctx, p.TenantID, id)
		if err != nil {
			return LinkView{}, fmt.Errorf("connect: %w", err)
		}
		if len(have) >= maxLinks {
			return LinkView{}, E(CodeConflict, "an account may have at most %d linked accounts; remove one first", maxLinks)
		}
	}
	id, err := s.newLinkID()
	if err != nil {
		return LinkView{}, err
	}
	l := Link{TenantID: p.TenantID, ID: id, OwnerID: owner.ID, ConnectorID: p.UserID, Direction: used.Direction, PhraseID: used.ID, CreatedAt: s.now()}
	ev := s.audit(ctx, p, ActionLinkCreate, owner)
	ev.Detail = string(l.Direction)
	if err := s.store.CreateLink(ctx, l, ev); err != nil {
		if IsCode(err, CodeConflict) {
			return LinkView{}, E(CodeConflict, "these accounts are already linked")
		}
		return LinkView{}, s.storeErr("create link", id, err)
	}
	s.log.InfoContext(ctx, "accounts linked", "tenant", p.TenantID, "link_id", id, "owner", owner.ID, "connector", p.UserID, "direction", string(l.Direction))
	me, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return LinkView{}, fmt.Errorf("connect: %w", err)
	}
	s.linkActivity(ctx, p, l, ActivityLinkCreated)
	s.linkNotice(ctx, owner, me, NoticeLinkCreated, ownerSummary(l, me))
	s.linkNotice(ctx, me, owner, NoticeLinkCreated, connectorSummary(l, owner))
	if l.AwaitingConfirmation() {
		s.linkNotice(ctx, owner, me, NoticeLinkConfirmRequest, fmt.Sprintf("%s asks to manage your account too. Sign in and confirm the link only if you know them and they made this request.", me.Username))
	}
	return s.viewOf(l, p.UserID, owner, t, true), nil
}

func ownerSummary(l Link, connector User) string {
	if l.Direction == LinkTwoWay {
		return fmt.Sprintf("%s connected to your account with your two-way share phrase. You can manage %s's checkouts and holds now; %s can manage yours only after you confirm.", connector.Username, connector.Username, connector.Username)
	}
	return fmt.Sprintf("%s connected to your account with your one-way share phrase. You can manage %s's checkouts and holds; %s cannot see your account.", connector.Username, connector.Username, connector.Username)
}

func connectorSummary(l Link, owner User) string {
	if l.Direction == LinkTwoWay {
		return fmt.Sprintf("Your account is now linked to %s's. %s can manage your checkouts and holds now; you can manage theirs once %s confirms.", owner.Username, owner.Username, owner.Username)
	}
	return fmt.Sprintf("Your account is now linked to %s's. %s can manage your checkouts and holds.", owner.Username, owner.Username)
}

// linkNotice tells to about a link event. A notice is a courtesy here: the
// link is made, so a notice that cannot be queued is logged, not failed.
func (s *Service) linkNotice(ctx context.Context, to, other User, kind NoticeKind, summary string) {
	if s.notices == nil {
		return
	}
	_, err := s.notify(ctx, NoticeRequest{TenantID: to.TenantID, UserID: to.ID, Kind: kind, Params: map[string]string{
		"username": to.Username, "otherAccount": other.Username, "summary": summary,
	}}, nil)
	if err != nil {
		s.log.ErrorContext(ctx, "link notice not recorded", "tenant", to.TenantID, "user_id", to.ID, "kind", string(kind), "error", err.Error())
	}
}

func (s *Service) viewOf(l Link, viewer string, other User, t Tenant, viewerActive bool) LinkView {
	return LinkView{
		Link: l, Other: other,
		IManage: l.Manages(viewer, other.ID), ManagesMe: l.Manages(other.ID, viewer),
		Active: viewerActive && other.Status == StatusActive && !t.Settings.LinkingDisabled,
	}
}

// ListLinks lists the caller's links: the accounts the caller manages and
// those that manage the caller.
func (s *Service) ListLinks(ctx context.Context, c Caller) ([]LinkView, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return nil, err
	}
	return s.linksOf(ctx, p.TenantID, p.UserID, true)
}

func (s *Service) linksOf(ctx context.Context, tenantID, userID string, active bool) ([]LinkView, error) {
	t, err := s.store.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	links, err := s.store.ListLinks(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := make([]LinkView, 0, len(links))
	for _, l := range links {
		other, err := s.store.GetUser(ctx, tenantID, l.Other(userID))
		if IsCode(err, CodeNotFound) {
			// The other account was deleted and its side went with it; a
			// mirror its deletion missed is ignored, never shown.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list links: %w", err)
		}
		out = append(out, s.viewOf(l, userID, other, t, active))
	}
	return out, nil
}

// myLink finds the caller's link by id.
func (s *Service) myLink(ctx context.Context, tenantID, userID, id string) (Link, error) {
	if !linkIDPattern.MatchString(id) {
		return Link{}, E(CodeNotFound, "link not found")
	}
	links, err := s.store.ListLinks(ctx, tenantID, userID)
	if err != nil {
		return Link{}, fmt.Errorf("find link: %w", err)
	}
	for _, l := range links {
		if l.ID == id {
			return l, nil
		}
	}
	return Link{}, E(CodeNotFound, "link not found")
}

// ConfirmLink lets the connector of a two-way link manage the caller (its
// owner) too.
func (s *Service) ConfirmLink(ctx context.Context, c Caller, id string) (LinkView, error) {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return LinkView{}, err
	}
	l, err := s.myLink(ctx, p.TenantID, p.UserID, id)
	if err != nil {
		return LinkView{}, err
	}
	t, on, err := s.linkingOn(ctx, p.TenantID)
	if err != nil {
		return LinkView{}, err
	}
	other, err := s.store.GetUser(ctx, p.TenantID, l.Other(p.UserID))
	if IsCode(err, CodeNotFound) {
		return LinkView{}, E(CodeNotFound, "link not found")
	}
	if err != nil {
		return LinkView{}, fmt.Errorf("confirm link: %w", err)
	}
	switch {
	case l.Direction == LinkOneWay:
		return LinkView{}, E(CodeConflict, "a one-way link needs no confirmation: only the account whose phrase made it manages the other")
	case p.UserID != l.OwnerID:
		return LinkView{}, E(CodeForbidden, "only %s, whose share phrase made this link, can confirm it", other.Username)
	case !on:
		return LinkView{}, E(CodeForbidden, "the library has turned linked accounts off")
	case !l.ConfirmedAt.IsZero():
		return s.viewOf(l, p.UserID, other, t, true), nil
	}
	l.ConfirmedAt = s.now()
	if err := s.store.ConfirmLink(ctx, l, s.audit(ctx, p, ActionLinkConfirm, other)); err != nil {
		return LinkView{}, s.storeErr("confirm link", id, err)
	}
	s.linkActivity(ctx, p, l, ActivityLinkConfirmed)
	me := User{TenantID: p.TenantID, ID: p.UserID, Username: p.Username}
	s.linkNotice(ctx, other, me, NoticeLinkCreated, fmt.Sprintf("%s confirmed your link: you can now manage %s's checkouts and holds too.", p.Username, p.Username))
	return s.viewOf(l, p.UserID, other, t, true), nil
}

// RemoveLink ends one of the caller's links, from either side.
func (s *Service) RemoveLink(ctx context.Context, c Caller, id string) error {
	p, err := s.principal(ctx, c, accessFull)
	if err != nil {
		return err
	}
	l, err := s.myLink(ctx, p.TenantID, p.UserID, id)
	if err != nil {
		return err
	}
	return s.removeLink(ctx, p, l, p.UserID)
}

func (s *Service) removeLink(ctx context.Context, p Principal, l Link, side string) error {
	other, err := s.store.GetUser(ctx, p.TenantID, l.Other(side))
	if err != nil && !IsCode(err, CodeNotFound) {
		return fmt.Errorf("remove link: %w", err)
	}
	target := other
	if side != p.UserID {
		target, err = s.store.GetUser(ctx, p.TenantID, side)
		if err != nil {
			return fmt.Errorf("remove link: %w", err)
		}
	}
	if err := s.store.DeleteLink(ctx, l, s.audit(ctx, p, ActionLinkDelete, target)); err != nil {
		return s.storeErr("remove link", l.ID, err)
	}
	s.log.InfoContext(ctx, "link removed", "tenant", p.TenantID, "link_id", l.ID, "by", p.UserID)
	s.linkActivity(ctx, p, l, ActivityLinkRemoved)
	for _, id := range []string{l.OwnerID, l.ConnectorID} {
		to, err := s.store.GetUser(ctx, p.TenantID, id)
		if err != nil {
			continue
		}
		oth, err := s.store.GetUser(ctx, p.TenantID, l.Other(id))
		if err != nil {
			oth = User{Username: "a deleted account"}
		}
		by := p.Username
		if p.IsAdmin() && p.UserID != l.OwnerID && p.UserID != l.ConnectorID {
			by = "library staff"
		}
		s.linkNotice(ctx, to, oth, NoticeLinkRemoved, fmt.Sprintf("The link between your account and %s's was removed by %s. Neither of you can manage the other's account any more.", oth.Username, by))
	}
	return nil
}

// AdminListLinks lists a user's links for staff.
func (s *Service) AdminListLinks(ctx context.Context, c Caller, userID string) ([]LinkView, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return nil, err
	}
	u, err := s.targetUser(ctx, p, userID)
	if err != nil {
		return nil, err
	}
	return s.linksOf(ctx, p.TenantID, u.ID, u.Status == StatusActive)
}

// AdminRemoveLink removes one of a user's links for staff.
func (s *Service) AdminRemoveLink(ctx context.Context, c Caller, userID, linkID string) error {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return err
	}
	u, err := s.targetUser(ctx, p, userID)
	if err != nil {
		return err
	}
	l, err := s.myLink(ctx, p.TenantID, u.ID, linkID)
	if err != nil {
		return err
	}
	return s.removeLink(ctx, p, l, u.ID)
}

// Self is the {id} by which a patron route names the caller's own account.
const Self = "me"

// patron resolves the account a patron route acts on: the caller's own
// ("me"), or one the caller manages through a live link. Anything else is
// not found, so that the route tells a stranger nothing about the id.
func (s *Service) patron(ctx context.Context, p Principal, id string) (User, error) {
	if id == Self || id == p.UserID {
		return s.store.GetUser(ctx, p.TenantID, p.UserID)
	}
	notFound := E(CodeNotFound, "no account %s that you manage", Truncate(id, 40))
	if !ValidUserID(id) {
		return User{}, notFound
	}
	l, err := s.store.GetLinkBetween(ctx, p.TenantID, p.UserID, id)
	if IsCode(err, CodeNotFound) {
		return User{}, notFound
	}
	if err != nil {
		return User{}, fmt.Errorf("resolve managed account: %w", err)
	}
	if !l.Manages(p.UserID, id) {
		if l.AwaitingConfirmation() {
			return User{}, E(CodeForbidden, "this account has not confirmed your link yet; until it does you cannot manage it")
		}
		return User{}, notFound
	}
	// Checked at use: a deactivated account, a deleted one, or linking
	// turned off makes the link inert at once.
	if _, on, err := s.linkingOn(ctx, p.TenantID); err != nil {
		return User{}, err
	} else if !on {
		return User{}, E(CodeForbidden, "the library has turned linked accounts off")
	}
	u, err := s.store.GetUser(ctx, p.TenantID, id)
	if IsCode(err, CodeNotFound) || err == nil && u.Status != StatusActive {
		return User{}, notFound
	}
	return u, err
}
