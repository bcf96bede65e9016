package accounts_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// linkFixture is a tenant with a parent and a child, on a service that has
// the store's throttle and circulation, as every function has.
type linkFixture struct {
	*fixture
	svc           *accounts.Service
	admin         accounts.Caller
	parent, child accounts.User
	asParent      accounts.Caller
	asChild       accounts.Caller
}

func newLinkFixture(tb testing.TB) *linkFixture {
	tb.Helper()
	f := newFixture(tb)
	admin := f.tenant(tb, "akl")
	lf := &linkFixture{fixture: f, admin: admin}
	keep(tb, f.svc, admin)
	lf.svc = accounts.NewService(accounts.Deps{
		Store: f.store, Hasher: passhash.New(fastParams), Clock: f.clock.Now, Notices: f.notices, Wait: f.clock.Wait,
		Throttle: f.store, Circulation: f.store, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
	}, accounts.Config{})
	lf.parent = f.user(tb, admin, accounts.CreateUserInput{Username: "parent", Barcode: "2100001", Email: "parent@example.org"})
	lf.child = f.user(tb, admin, accounts.CreateUserInput{Username: "child", Barcode: "2100002", Email: "child@example.org"})
	lf.asParent = f.login(tb, "akl", "parent", "a perfectly fine passphrase")
	lf.asChild = f.login(tb, "akl", "child", "a perfectly fine passphrase")
	return lf
}

// keep lets patrons keep the password staff set, so that they may act.
func keep(tb testing.TB, svc *accounts.Service, admin accounts.Caller) {
	tb.Helper()
	no := false
	if _, err := svc.UpdateSettings(context.Background(), admin, 0, accounts.SettingsPatch{StaffPasswordsMustChange: &no}); err != nil {
		tb.Fatal(err)
	}
}

func (lf *linkFixture) phrase(tb testing.TB, c accounts.Caller, dir accounts.LinkDirection) accounts.NewSharePhrase {
	tb.Helper()
	p, err := lf.svc.CreateSharePhrase(context.Background(), c, string(dir))
	if err != nil {
		tb.Fatalf("create %s phrase: %v", dir, err)
	}
	return p
}

func (lf *linkFixture) connect(tb testing.TB, c accounts.Caller, barcode, phrase string) accounts.LinkView {
	tb.Helper()
	v, err := lf.svc.Connect(context.Background(), c, barcode, phrase)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	return v
}

// canManage reports whether c may read id's checkouts.
func (lf *linkFixture) canManage(tb testing.TB, c accounts.Caller, id string) (bool, error) {
	tb.Helper()
	_, _, err := lf.svc.PatronCheckouts(context.Background(), c, id)
	return err == nil, err
}

func TestSharePhraseIsShownOnceAndStoredAsAHash(t *testing.T) {
	lf := newLinkFixture(t)
	p := lf.phrase(t, lf.asParent, accounts.LinkOneWay)
	if words := strings.Fields(p.Phrase); len(words) < 5 {
		t.Fatalf("phrase %q has %d words, want at least 5", p.Phrase, len(words))
	}
	out, err := lf.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(lf.table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		for name, v := range it {
			if sv, ok := v.(*ddb.AttributeValueMemberS); ok && strings.Contains(sv.Value, strings.Fields(p.Phrase)[0]+" ") {
				t.Errorf("the phrase's words are stored (%s of %v)", name, it["sk"])
			}
		}
	}
	list, err := lf.svc.ListSharePhrases(context.Background(), lf.asParent)
	if err != nil || len(list) != 1 || list[0].ID != p.ID || list[0].Direction != accounts.LinkOneWay {
		t.Fatalf("ListSharePhrases = %+v, %v", list, err)
	}
	if _, err := lf.svc.CreateSharePhrase(context.Background(), lf.asParent, "three_way"); accounts.PublicField(err) != "direction" {
		t.Errorf("a bad direction: %v", err)
	}
}

func TestOneWayLink(t *testing.T) {
	lf := newLinkFixture(t)
	ctx := context.Background()
	p := lf.phrase(t, lf.asParent, accounts.LinkOneWay)
	// Typed back with other case and spacing, it still connects.
	v := lf.connect(t, lf.asChild, " 2100001 ", strings.ToUpper(strings.ReplaceAll(p.Phrase, " ", "  ")))
	if v.Other.ID != lf.parent.ID || v.IManage || !v.ManagesMe {
		t.Fatalf("the child's view of the link: %+v", v)
	}
	if ok, err := lf.canManage(t, lf.asParent, lf.child.ID); !ok {
		t.Errorf("the parent cannot manage the child: %v", err)
	}
	if ok, err := lf.canManage(t, lf.asChild, lf.parent.ID); ok || accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("the child manages the parent through a one-way link: %v", err)
	}
	// Both accounts are told; nobody else.
	var kinds []string
	for _, m := range lf.notices.take() {
		n, err := lf.store.GetNotice(ctx, m.ref.TenantID, m.ref.UserID, m.ref.NoticeID)
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, n.UserID+":"+string(n.Kind))
	}
	if want := []string{lf.parent.ID + ":link-created", lf.child.ID + ":link-created"}; strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("notices %v, want %v", kinds, want)
	}
	// A one-way link needs no confirmation; the revoked phrase keeps it.
	if _, err := lf.svc.ConfirmLink(ctx, lf.asParent, v.ID); accounts.ErrorCode(err) != accounts.CodeConflict {
		t.Errorf("confirming a one-way link: %v", err)
	}
	if err := lf.svc.RevokeSharePhrase(ctx, lf.asParent, p.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := lf.canManage(t, lf.asParent, lf.child.ID); !ok {
		t.Errorf("revoking the phrase ended its link: %v", err)
	}
	// Either side unlinks.
	if err := lf.svc.RemoveLink(ctx, lf.asChild, v.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := lf.canManage(t, lf.asParent, lf.child.ID); ok {
		t.Error("the parent still manages the child after the child unlinked")
	}
}

func TestTwoWayLinkNeedsTheOwnersConfirmation(t *testing.T) {
	lf := newLinkFixture(t)
	ctx := context.Background()
	p := lf.phrase(t, lf.asParent, accounts.LinkTwoWay)
	v := lf.connect(t, lf.asChild, "2100001", p.Phrase)
	if !v.AwaitingConfirmation() {
		t.Fatalf("a new two-way link is not awaiting confirmation: %+v", v)
	}
	if ok, err := lf.canManage(t, lf.asParent, lf.child.ID); !ok {
		t.Errorf("the owner cannot manage the connector at once: %v", err)
	}
	if ok, err := lf.canManage(t, lf.asChild, lf.parent.ID); ok || accounts.ErrorCode(err) != accounts.CodeForbidden {
		t.Fatalf("the connector manages the owner before confirmation: %v", err)
	}
	if _, err := lf.svc.ConfirmLink(ctx, lf.asChild, v.ID); accounts.ErrorCode(err) != accounts.CodeForbidden {
		t.Errorf("the connector confirmed its own link: %v", err)
	}
	var confirmReq bool
	for _, m := range lf.notices.take() {
		n, _ := lf.store.GetNotice(ctx, m.ref.TenantID, m.ref.UserID, m.ref.NoticeID)
		confirmReq = confirmReq || n.Kind == accounts.NoticeLinkConfirmRequest && n.UserID == lf.parent.ID
	}
	if !confirmReq {
		t.Error("the owner was not asked to confirm")
	}
	if _, err := lf.svc.ConfirmLink(ctx, lf.asParent, v.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := lf.canManage(t, lf.asChild, lf.parent.ID); !ok {
		t.Errorf("the connector cannot manage the owner after confirmation: %v", err)
	}
}

func TestConnectRefusesUniformly(t *testing.T) {
	lf := newLinkFixture(t)
	ctx := context.Background()
	p := lf.phrase(t, lf.asParent, accounts.LinkOneWay)
	revoked := lf.phrase(t, lf.asParent, accounts.LinkOneWay)
	if err := lf.svc.RevokeSharePhrase(ctx, lf.asParent, revoked.ID); err != nil {
		t.Fatal(err)
	}
	own := lf.phrase(t, lf.asChild, accounts.LinkOneWay)
	// Another library's patron with the same barcode and a phrase of its own.
	otherAdmin := lf.tenant(t, "wlg")
	keep(t, lf.svc, otherAdmin)
	lf.user(t, otherAdmin, accounts.CreateUserInput{Username: "parent", Barcode: "2100009"})
	asOther := lf.login(t, "wlg", "parent", "a perfectly fine passphrase")
	otherPhrase := lf.phrase(t, asOther, accounts.LinkOneWay)

	var first string
	for _, tc := range []struct {
		name            string
		barcode, phrase string
	}{
		{"unknown barcode", "9999999", p.Phrase},
		{"wrong phrase", "2100001", "abacus zoom abacus zoom abacus zoom"},
		{"revoked phrase", "2100001", revoked.Phrase},
		{"own account", "2100002", own.Phrase},
		{"another library's barcode", "2100009", otherPhrase.Phrase},
		{"empty phrase", "2100001", ""},
	} {
		_, err := lf.svc.Connect(ctx, lf.asChild, tc.barcode, tc.phrase)
		if accounts.ErrorCode(err) != accounts.CodeInvalid {
			t.Fatalf("%s: %v, want the uniform refusal", tc.name, err)
		}
		if first == "" {
			first = accounts.PublicMessage(err)
		} else if accounts.PublicMessage(err) != first {
			t.Errorf("%s: %q differs from %q", tc.name, accounts.PublicMessage(err), first)
		}
	}
	off := true
	if _, err := lf.svc.UpdateSettings(ctx, lf.admin, 0, accounts.SettingsPatch{LinkingDisabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := lf.svc.Connect(ctx, lf.asChild, "2100001", p.Phrase); accounts.PublicMessage(err) != first {
		t.Errorf("linking turned off: %v", err)
	}
}

func TestConnectIsThrottled(t *testing.T) {
	lf := newLinkFixture(t)
	ctx := context.Background()
	p := lf.phrase(t, lf.asParent, accounts.LinkOneWay)
	// Ten wrong attempts use up the caller's and the barcode's hour.
	for i := range 10 {
		if _, err := lf.svc.Connect(ctx, lf.asChild, "2100001", "wrong words "+strings.Repeat("x", i)); accounts.ErrorCode(err) != accounts.CodeInvalid {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, err := lf.svc.Connect(ctx, lf.asChild, "2100001", p.Phrase)
	wantCode(t, err, accounts.CodeTooManyRequests)
	// Another caller is stopped by the barcode's counter too.
	stranger := lf.user(t, lf.admin, accounts.CreateUserInput{Username: "stranger"})
	asStranger := lf.login(t, "akl", stranger.Username, "a perfectly fine passphrase")
	_, err = lf.svc.Connect(ctx, asStranger, "2100001", p.Phrase)
	wantCode(t, err, accounts.CodeTooManyRequests)
	lf.clock.Advance(time.Hour)
	lf.connect(t, lf.login(t, "akl", "child", "a perfectly fine passphrase"), "2100001", p.Phrase)
}

func TestInactiveAndDeletedAccountsMakeLinksInert(t *testing.T) {
	lf := newLinkFixture(t)
	ctx := context.Background()
	p := lf.phrase(t, lf.asParent, accounts.LinkTwoWay)
	v := lf.connect(t, lf.asChild, "2100001", p.Phrase)
	if _, err := lf.svc.ConfirmLink(ctx, lf.asParent, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := lf.svc.SetUserStatus(ctx, lf.admin, lf.child.ID, accounts.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if ok, err := lf.canManage(t, lf.asParent, lf.child.ID); ok || accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("managing a deactivated account: %v", err)
	}
	if _, err := lf.svc.SetUserStatus(ctx, lf.admin, lf.child.ID, accounts.StatusActive); err != nil {
		t.Fatal(err)
	}
	if ok, err := lf.canManage(t, lf.asParent, lf.child.ID); !ok {
		t.Errorf("reactivated, the link does not work again: %v", err)
	}
	off := true
	if _, err := lf.svc.UpdateSettings(ctx, lf.admin, 0, accounts.SettingsPatch{LinkingDisabled: &off}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := lf.canManage(t, lf.asParent, lf.child.ID); ok {
		t.Error("a link works while the library has linking turned off")
	}
	on := false
	if _, err := lf.svc.UpdateSettings(ctx, lf.admin, 0, accounts.SettingsPatch{LinkingDisabled: &on}); err != nil {
		t.Fatal(err)
	}
	child, _ := lf.store.GetUser(ctx, "akl", lf.child.ID)
	if err := lf.svc.DeleteUser(ctx, lf.admin, child.ID, child.Username); err != nil {
		t.Fatal(err)
	}
	if _, err := lf.store.GetLinkBetween(ctx, "akl", lf.parent.ID, lf.child.ID); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("the parent's side of a deleted account's link is left: %v", err)
	}
	if links, err := lf.svc.ListLinks(ctx, lf.asParent); err != nil || len(links) != 0 {
		t.Errorf("the parent's links after the child's deletion: %+v, %v", links, err)
	}
	if phrases, _ := lf.store.ListSharePhrases(ctx, "akl", lf.child.ID); len(phrases) != 0 {
		t.Errorf("a deleted account's phrases are left: %+v", phrases)
	}
}

// managed links a parent to a child one-way and feeds the child a loan
// and two holds.
func (lf *linkFixture) managed(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	p := lf.phrase(tb, lf.asParent, accounts.LinkOneWay)
	lf.connect(tb, lf.asChild, "2100001", p.Phrase)
	now := lf.clock.Now()
	for _, c := range []accounts.Checkout{
		{ID: "loan-1", Title: "The Hobbit", CheckedOutAt: now.Add(-20 * 24 * time.Hour), DueAt: now.Add(24 * time.Hour)},
		{ID: "loan-early", Title: "Dune", CheckedOutAt: now, DueAt: now.Add(21 * 24 * time.Hour)},
		{ID: "loan-wanted", Title: "Matilda", CheckedOutAt: now.Add(-20 * 24 * time.Hour), DueAt: now.Add(24 * time.Hour), OthersWaiting: 2},
	} {
		if _, err := lf.svc.FeedCheckout(ctx, lf.admin, lf.child.ID, c); err != nil {
			tb.Fatal(err)
		}
	}
	for _, h := range []accounts.Hold{
		{ID: "hold-pending", Title: "Holes", PlacedAt: now, Status: accounts.HoldPending, QueuePosition: 3, PickupLocation: "Central"},
		{ID: "hold-ready", Title: "Wonder", PlacedAt: now, Status: accounts.HoldReady, PickupLocation: "Central"},
		{ID: "hold-transit", Title: "Coraline", PlacedAt: now, Status: accounts.HoldInTransit, PickupLocation: "Central"},
	} {
		if _, err := lf.svc.FeedHold(ctx, lf.admin, lf.child.ID, h); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestRenewalRules(t *testing.T) {
	lf := newLinkFixture(t)
	lf.managed(t)
	ctx := context.Background()
	for _, tc := range []struct{ loan, reason string }{
		{"loan-early", "too early"},
		{"loan-wanted", "another patron is waiting"},
	} {
		_, _, err := lf.svc.Renew(ctx, lf.asParent, lf.child.ID, tc.loan)
		if accounts.ErrorCode(err) != accounts.CodeConflict || !strings.Contains(accounts.PublicMessage(err), tc.reason) {
			t.Errorf("renew %s: %v, want a refusal saying %q", tc.loan, err, tc.reason)
		}
	}
	prevDue := lf.clock.Now().Add(24 * time.Hour)
	for i := 1; i <= 2; i++ {
		c, _, err := lf.svc.Renew(ctx, lf.asParent, lf.child.ID, "loan-1")
		if err != nil {
			t.Fatalf("renewal %d: %v", i, err)
		}
		if c.RenewalsUsed != i || !c.DueAt.After(prevDue) {
			t.Fatalf("renewal %d: %+v", i, c)
		}
		prevDue = c.DueAt
		lf.clock.Advance(c.DueAt.Sub(lf.clock.Now()) - time.Hour)
		// Days pass: the parent signs in again.
		lf.asParent = lf.login(t, "akl", "parent", "a perfectly fine passphrase")
		lf.asChild = lf.login(t, "akl", "child", "a perfectly fine passphrase")
	}
	_, _, err := lf.svc.Renew(ctx, lf.asParent, lf.child.ID, "loan-1")
	if accounts.ErrorCode(err) != accounts.CodeConflict || !strings.Contains(accounts.PublicMessage(err), "renewal limit is reached (2 of 2") {
		t.Errorf("a third renewal with the default limit of 2: %v", err)
	}
	// The child sees who renewed for it.
	acts, err := lf.svc.ListActivity(ctx, lf.asChild)
	if err != nil {
		t.Fatal(err)
	}
	var renewals int
	for _, a := range acts {
		if a.Action == accounts.ActivityRenewed && a.ActorID == lf.parent.ID && a.Subject == "The Hobbit" {
			renewals++
		}
	}
	if renewals != 2 {
		t.Errorf("the child's activity shows %d renewals by the parent, want 2: %+v", renewals, acts)
	}
}

func TestHoldRulesAndTheBorrowFence(t *testing.T) {
	lf := newLinkFixture(t)
	lf.managed(t)
	ctx := context.Background()
	elsewhere := "Grey Lynn"
	for _, id := range []string{"hold-ready", "hold-transit"} {
		_, err := lf.svc.UpdateHold(ctx, lf.asParent, lf.child.ID, id, accounts.HoldPatch{PickupLocation: &elsewhere})
		if accounts.ErrorCode(err) != accounts.CodeConflict || !strings.Contains(accounts.PublicMessage(err), "pickup location not changed") {
			t.Errorf("pickup change of %s: %v", id, err)
		}
	}
	h, err := lf.svc.UpdateHold(ctx, lf.asParent, lf.child.ID, "hold-pending", accounts.HoldPatch{PickupLocation: &elsewhere})
	if err != nil || h.PickupLocation != elsewhere {
		t.Fatalf("pickup change of a pending hold: %+v, %v", h, err)
	}
	until := lf.clock.Now().Add(14 * 24 * time.Hour)
	if h, err = lf.svc.UpdateHold(ctx, lf.asParent, lf.child.ID, "hold-pending", accounts.HoldPatch{SuspendUntil: &until}); err != nil || !h.SuspendedUntil.Equal(until) {
		t.Fatalf("suspend: %+v, %v", h, err)
	}
	if h, err = lf.svc.UpdateHold(ctx, lf.asParent, lf.child.ID, "hold-pending", accounts.HoldPatch{Resume: true}); err != nil || !h.SuspendedUntil.IsZero() {
		t.Fatalf("resume: %+v, %v", h, err)
	}
	if err := lf.svc.CancelHold(ctx, lf.asParent, lf.child.ID, "hold-pending"); err != nil {
		t.Fatal(err)
	}
	if holds, _ := lf.svc.PatronHolds(ctx, lf.asChild, accounts.Self); len(holds) != 2 {
		t.Errorf("after the cancel the child has %d holds, want 2", len(holds))
	}
	_, err = lf.svc.PlaceHold(ctx, lf.asParent, lf.child.ID, accounts.HoldRequest{Title: "Holes", PickupLocation: "Central"})
	if accounts.ErrorCode(err) != accounts.CodeForbidden || accounts.PublicMessage(err) != "sign in to that account to place a request" {
		t.Errorf("a request for a managed account: %v", err)
	}
	if _, err := lf.svc.PlaceHold(ctx, lf.asChild, accounts.Self, accounts.HoldRequest{Title: "Holes", PickupLocation: "Central"}); err != nil {
		t.Errorf("a request for oneself: %v", err)
	}
}
