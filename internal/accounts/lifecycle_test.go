package accounts_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// outbox records mail instead of sending it: a fake of the mail port, so
// tests can read the links and passwords a user would receive.
type outbox struct {
	mu   sync.Mutex
	sent []accounts.Message
	fail error
}

func (o *outbox) Send(_ context.Context, m accounts.Message) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return "", o.fail
	}
	o.sent = append(o.sent, m)
	return fmt.Sprintf("msg-%d", len(o.sent)), nil
}

func (o *outbox) last(tb testing.TB) accounts.Message {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sent) == 0 {
		tb.Fatal("no mail sent")
	}
	return o.sent[len(o.sent)-1]
}

func ptr[T any](v T) *T { return &v }

func TestConcurrentEditsHaveOneWinnerPerVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron"})

	const writers = 50
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.UpdateUser(ctx, admin, u.ID, u.Version, accounts.UserPatch{Queues: &[]string{fmt.Sprintf("queue-%d", i)}})
		}()
	}
	wg.Wait()
	var winners []int
	for i, err := range errs {
		switch accounts.ErrorCode(err) {
		case "":
			winners = append(winners, i)
		case accounts.CodeConflict:
		default:
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d writers won version %d, want exactly 1", len(winners), u.Version)
	}
	got, _ := f.svc.GetUser(ctx, admin, u.ID)
	if want := []string{fmt.Sprintf("queue-%d", winners[0])}; !slices.Equal(got.Queues, want) || got.Version != u.Version+1 {
		t.Errorf("stored %v v%d, want the winner's %v v%d", got.Queues, got.Version, want, u.Version+1)
	}
}

func TestEditRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	a := f.user(t, admin, accounts.CreateUserInput{Username: "alice", Barcode: "111"})
	f.user(t, admin, accounts.CreateUserInput{Username: "bob", Barcode: "222"})

	_, err := f.svc.UpdateUser(ctx, admin, a.ID, 0, accounts.UserPatch{Email: ptr("a@kpu.ca")})
	wantCode(t, err, accounts.CodePreconditionRequired)
	_, err = f.svc.UpdateUser(ctx, admin, a.ID, a.Version, accounts.UserPatch{Username: ptr("BOB")})
	wantCode(t, err, accounts.CodeConflict)
	_, err = f.svc.UpdateUser(ctx, admin, a.ID, a.Version, accounts.UserPatch{Barcode: ptr("222")})
	wantCode(t, err, accounts.CodeConflict)

	// A rename frees the old name and takes the new one atomically.
	a2, err := f.svc.UpdateUser(ctx, admin, a.ID, a.Version, accounts.UserPatch{Username: ptr("Alice.W"), Barcode: ptr(""), PrimaryID: ptr("007")})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Username != "Alice.W" || a2.Barcode != "" || a2.PrimaryID != "007" || a2.Version != a.Version+1 {
		t.Errorf("after edit: %+v", a2)
	}
	f.user(t, admin, accounts.CreateUserInput{Username: "alice", Barcode: "111"})
	if page, _ := f.svc.ListUsers(ctx, admin, accounts.UserQuery{PrimaryID: "007"}); len(page.Users) != 1 || page.Users[0].ID != a.ID {
		t.Errorf("search by primary ID after edit: %+v", page.Users)
	}
	// Changing only the case of a username needs no new guard.
	if _, err := f.svc.UpdateUser(ctx, admin, a.ID, a2.Version, accounts.UserPatch{Username: ptr("ALICE.W")}); err != nil {
		t.Errorf("case-only rename: %v", err)
	}
}

func TestDeactivationEndsSessionsAndReactivationRestoresAccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron", Password: "temporary passphrase 1"})
	live := f.login(t, "kpu", "patron", "temporary passphrase 1")

	if _, err := f.svc.SetUserStatus(ctx, admin, u.ID, accounts.StatusInactive); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Me(ctx, live)
	wantCode(t, err, accounts.CodeUnauthorized)
	_, err = f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: "temporary passphrase 1"})
	wantCode(t, err, accounts.CodeUnauthorized)

	if _, err := f.svc.SetUserStatus(ctx, admin, u.ID, accounts.StatusActive); err != nil {
		t.Fatal(err)
	}
	f.login(t, "kpu", "patron", "temporary passphrase 1") // same password as before
	_, err = f.svc.SetUserStatus(ctx, admin, admin.UserID, accounts.StatusInactive)
	wantCode(t, err, accounts.CodeForbidden)
}

func TestTheLastAdminStays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	me, _ := f.svc.Me(ctx, admin)
	_, err := f.svc.UpdateUser(ctx, admin, me.ID, me.Version, accounts.UserPatch{Roles: &[]string{}})
	wantCode(t, err, accounts.CodeConflict)

	other := f.user(t, admin, accounts.CreateUserInput{Username: "second-admin", Roles: []string{"admin"}})
	// Two admins: one may step down, and then the other is the last.
	if _, err := f.svc.UpdateUser(ctx, admin, me.ID, me.Version, accounts.UserPatch{Roles: &[]string{"agent"}}); err != nil {
		t.Fatalf("step down with another admin present: %v", err)
	}
	// The session that stepped down lost its staff powers at once.
	_, err = f.svc.ListUsers(ctx, admin, accounts.UserQuery{})
	wantCode(t, err, accounts.CodeForbidden)
	o := f.login(t, "kpu", "second-admin", "a perfectly fine passphrase")
	if err := f.svc.ChangePassword(ctx, o, accounts.ChangePasswordInput{CurrentPassword: "a perfectly fine passphrase", NewPassword: "the second admin's own"}); err != nil {
		t.Fatal(err)
	}
	err = f.svc.DeleteUser(ctx, o, other.ID, "second-admin")
	wantCode(t, err, accounts.CodeForbidden) // not oneself
	me, _ = f.store.GetUser(ctx, "kpu", me.ID)
	if _, err := f.svc.UpdateUser(ctx, o, me.ID, me.Version, accounts.UserPatch{Roles: &[]string{"admin"}}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteLeavesNothingReachable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	box := &outbox{}
	svc := f.serviceWith(box)
	u := f.user(t, admin, accounts.CreateUserInput{Username: "Gone.Soon", Barcode: "B1", PrimaryID: "0001", Email: "g@kpu.ca", Password: "temporary passphrase 1"})
	live := f.login(t, "kpu", "gone.soon", "temporary passphrase 1")
	if _, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, svc)
	link := tokenIn(t, box.last(t).Text)

	err := f.svc.DeleteUser(ctx, admin, u.ID, "")
	wantCode(t, err, accounts.CodePreconditionRequired)
	if !strings.Contains(accounts.PublicMessage(err), "deactivate") {
		t.Errorf("refusal does not name deactivation: %q", accounts.PublicMessage(err))
	}
	wantCode(t, f.svc.DeleteUser(ctx, admin, u.ID, "someone-else"), accounts.CodePreconditionRequired)
	if err := f.svc.DeleteUser(ctx, admin, u.ID, "GONE.SOON"); err != nil {
		t.Fatal(err)
	}

	_, err = f.svc.GetUser(ctx, admin, u.ID)
	wantCode(t, err, accounts.CodeNotFound)
	_, err = f.svc.Me(ctx, live)
	wantCode(t, err, accounts.CodeUnauthorized)
	wantCode(t, svc.CompletePasswordReset(ctx, link, "a brand new passphrase"), accounts.CodeInvalid)
	for _, q := range []accounts.UserQuery{{Barcode: "b1"}, {PrimaryID: "0001"}, {Email: "g@kpu.ca"}, {Prefix: "gone"}} {
		if page, err := f.svc.ListUsers(ctx, admin, q); err != nil || len(page.Users) != 0 {
			t.Errorf("%+v still finds %d users (%v)", q, len(page.Users), err)
		}
	}
	// The username, barcode and primary ID are free again.
	n := f.user(t, admin, accounts.CreateUserInput{Username: "gone.soon", Barcode: "B1", PrimaryID: "0001"})
	if n.ID == u.ID {
		t.Error("a new account reused the deleted id")
	}
}

func TestBulk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	var ids []string
	for i := range 5 {
		ids = append(ids, f.user(t, admin, accounts.CreateUserInput{Username: fmt.Sprintf("p%d", i)}).ID)
	}
	ids = append(ids, "nosuchuserxxxxxxxxxxxxxxxx", admin.UserID, ids[0])
	_, err := f.svc.BulkUsers(ctx, admin, accounts.BulkDelete, ids, false)
	wantCode(t, err, accounts.CodePreconditionRequired)
	_, err = f.svc.BulkUsers(ctx, admin, "explode", ids, true)
	wantCode(t, err, accounts.CodeInvalid)
	_, err = f.svc.BulkUsers(ctx, admin, accounts.BulkDeactivate, make([]string, 1001), false)
	wantCode(t, err, accounts.CodeInvalid)

	res, err := f.svc.BulkUsers(ctx, admin, accounts.BulkDeactivate, ids, false)
	if err != nil {
		t.Fatal(err)
	}
	var ok int
	codes := map[accounts.Code]int{}
	for _, r := range res {
		if r.OK {
			ok++
		} else {
			codes[r.Code]++
		}
	}
	if ok != 5 || codes[accounts.CodeNotFound] != 1 || codes[accounts.CodeForbidden] != 1 || codes[accounts.CodeInvalid] != 1 {
		t.Errorf("results: %d ok, %v", ok, codes)
	}
	res, err = f.svc.BulkUsers(ctx, admin, accounts.BulkDelete, ids[:5], true)
	if err != nil || len(res) != 5 {
		t.Fatalf("bulk delete: %v %v", res, err)
	}
	page, _ := f.svc.ListUsers(ctx, admin, accounts.UserQuery{Prefix: "p"})
	if len(page.Users) != 0 {
		t.Errorf("%d users left after bulk delete", len(page.Users))
	}
}

func TestUsernameFormatAndSuggestions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	_, err := f.svc.UpdateSettings(ctx, admin, 0, accounts.SettingsPatch{UsernameFormat: ptr("kpu-{first}-{last}{bad}")})
	wantCode(t, err, accounts.CodeInvalid)
	if _, err := f.svc.UpdateSettings(ctx, admin, 0, accounts.SettingsPatch{UsernameFormat: ptr("kpu-{first}-{last1}")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "sadie", Password: "a perfectly fine passphrase"})
	wantCode(t, err, accounts.CodeInvalid)
	if msg := accounts.PublicMessage(err); !strings.Contains(msg, "kpu-{first}-{last1}") || !strings.Contains(msg, "kpu-sadie-p") {
		t.Errorf("refusal does not show the format: %q", msg)
	}
	name, err := f.svc.SuggestUsername(ctx, admin, "Sadie", "Park")
	if err != nil || name != "kpu-sadie-p" {
		t.Fatalf("suggest: %q %v", name, err)
	}
	f.user(t, admin, accounts.CreateUserInput{Username: name})
	if name, _ = f.svc.SuggestUsername(ctx, admin, "Sádie", "Pérez"); name != "kpu-sadie-p2" {
		t.Errorf("second suggestion %q, want kpu-sadie-p2", name)
	}
	f.user(t, admin, accounts.CreateUserInput{Username: name})
	u, _ := f.store.GetUserByUsername(ctx, "kpu", "kpu-sadie-p")
	_, err = f.svc.UpdateUser(ctx, admin, u.ID, u.Version, accounts.UserPatch{Username: ptr("sadie-park")})
	wantCode(t, err, accounts.CodeInvalid)
	_, err = f.svc.SuggestUsername(ctx, admin, "123", "Park")
	wantCode(t, err, accounts.CodeInvalid)
}

func TestCopySettingsFrom(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	tmpl := f.user(t, admin, accounts.CreateUserInput{Username: "kpu-tmpl", Roles: []string{"agent"}, Queues: []string{"kpu-chat", "proactive"}, CannedMessagePools: []string{"kpu"}})
	out, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "kpu-new", GeneratePassword: true, CopySettingsFrom: tmpl.ID, Queues: []string{"kpu-chat"}})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if !slices.Equal(u.Roles, []string{"agent"}) || !slices.Equal(u.Queues, []string{"kpu-chat"}) || !slices.Equal(u.CannedMessagePools, []string{"kpu"}) {
		t.Errorf("copied settings: roles %v queues %v pools %v", u.Roles, u.Queues, u.CannedMessagePools)
	}
	_, err = f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "kpu-x", GeneratePassword: true, CopySettingsFrom: "nosuchuserxxxxxxxxxxxxxxxx"})
	wantCode(t, err, accounts.CodeInvalid)
}

var tokenPattern = regexp.MustCompile(`#token=([A-Za-z0-9._%-]+)`)

func tokenIn(tb testing.TB, text string) string {
	tb.Helper()
	m := tokenPattern.FindStringSubmatch(text)
	if m == nil {
		tb.Fatalf("no link in mail")
	}
	return strings.ReplaceAll(m[1], "%2E", ".")
}

func TestResetPasswordThreeWays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	box := &outbox{}
	svc := f.serviceWith(box)
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.ca", Password: "temporary passphrase 1"})
	noMail := f.user(t, admin, accounts.CreateUserInput{Username: "nomail"})

	// 1. Staff choose it, typed twice.
	_, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Password: "chosen by staff 123", PasswordConfirmation: "chosen by staff 124"})
	wantCode(t, err, accounts.CodeInvalid)
	_, err = svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Password: "short", PasswordConfirmation: "short"})
	wantCode(t, err, accounts.CodeInvalid)
	live := f.login(t, "kpu", "patron", "temporary passphrase 1")
	res, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Password: "chosen by staff 123", PasswordConfirmation: "chosen by staff 123"})
	if err != nil || res.Message != "Successfully Updated User Password" {
		t.Fatalf("staff-chosen reset: %+v %v", res, err)
	}
	_, err = f.svc.Me(ctx, live)
	wantCode(t, err, accounts.CodeUnauthorized) // every reset ends the sessions
	r, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: "chosen by staff 123"})
	if err != nil || !r.MustChangePassword {
		t.Fatalf("login after staff reset: %+v %v", r, err)
	}

	// 2. Generated: returned once, or e-mailed and not returned.
	res, err = svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Generate: true})
	if err != nil || res.GeneratedPassword == "" || res.Emailed {
		t.Fatalf("generate: %+v %v", res, err)
	}
	f.login(t, "kpu", "patron", res.GeneratedPassword)
	res, err = svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Generate: true, Notify: true})
	if err != nil || res.GeneratedPassword != "" || !res.Emailed || res.NoticeID == "" {
		t.Fatalf("generate+notify: %+v %v", res, err)
	}
	f.deliver(t, svc)
	mail := box.last(t)
	if mail.To != "p@kpu.ca" || mail.Tag != string(accounts.NoticeTemporaryPassword) {
		t.Errorf("notice: %+v", mail)
	}
	pw := regexp.MustCompile(`(?m)^ {4}(\S+)$`).FindStringSubmatch(mail.Text)
	if pw == nil {
		t.Fatal("no password in the notice")
	}
	f.login(t, "kpu", "patron", pw[1])
	_, err = svc.ResetPassword(ctx, admin, noMail.ID, accounts.ResetPasswordInput{Generate: true, Notify: true})
	wantCode(t, err, accounts.CodeInvalid)
	if accounts.PublicField(err) != "email" {
		t.Errorf("field = %q", accounts.PublicField(err))
	}
	_, err = svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Generate: true, SendResetLink: true})
	wantCode(t, err, accounts.CodeInvalid)

	// 3. A single-use link.
	if _, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, svc)
	link := tokenIn(t, box.last(t).Text)
	wantCode(t, svc.CompletePasswordReset(ctx, link, "short"), accounts.CodeInvalid) // refused: the link stays usable
	if err := svc.CompletePasswordReset(ctx, link, "my favourite reading lamp"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.CompletePasswordReset(ctx, link, "my favourite reading lamp again"), accounts.CodeInvalid)
	r, err = f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: "my favourite reading lamp"})
	if err != nil || r.MustChangePassword {
		t.Fatalf("login after link reset: %+v %v", r, err)
	}

	// Without a mailer the mail options are refused, not silently skipped.
	_, err = f.svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true})
	wantCode(t, err, accounts.CodeUnavailable)

	// Links expire.
	if _, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, svc)
	link = tokenIn(t, box.last(t).Text)
	f.clock.Advance(25 * time.Hour)
	wantCode(t, svc.CompletePasswordReset(ctx, link, "too late for this one"), accounts.CodeInvalid)
	wantCode(t, svc.CompletePasswordReset(ctx, "garbage", "whatever whatever"), accounts.CodeInvalid)

}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	box := &outbox{}
	svc := f.serviceWith(box)
	// Each action a second apart: the trail is ordered by time.
	tick := func() { f.clock.Advance(time.Second) }
	tick()
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.ca", Password: "temporary passphrase 1"})
	tick()
	if _, err := f.svc.UpdateUser(ctx, admin, u.ID, u.Version, accounts.UserPatch{Email: ptr("new@kpu.ca"), Queues: &[]string{"q"}}); err != nil {
		t.Fatal(err)
	}
	tick()
	gen, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	tick()
	if _, err := svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, svc)
	link := tokenIn(t, box.last(t).Text)
	tick()
	if _, err := f.svc.SetUserStatus(ctx, admin, u.ID, accounts.StatusInactive); err != nil {
		t.Fatal(err)
	}
	tick()
	if _, err := f.svc.UpdateSettings(ctx, admin, 0, accounts.SettingsPatch{SenderName: ptr("KPU Library")}); err != nil {
		t.Fatal(err)
	}

	all, err := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range all.Events {
		actions = append(actions, e.Action)
		for _, s := range append(e.Fields, e.Detail, e.TargetUsername, e.ActorUsername) {
			for _, secret := range []string{gen.GeneratedPassword, link, "temporary passphrase 1", adminPassword} {
				if strings.Contains(s, secret) {
					t.Fatalf("audit event %s holds a secret", e.Action)
				}
			}
		}
	}
	want := []string{"settings.update", "user.deactivate", "user.password_reset_link", "user.password_reset", "user.update", "user.create", "tenant.bootstrap"}
	if !slices.Equal(actions, want) {
		t.Errorf("trail, newest first:\n got %v\nwant %v", actions, want)
	}
	upd := all.Events[4]
	if !slices.Equal(upd.Fields, []string{"email", "queues"}) || upd.ActorID != admin.UserID || upd.TargetID != u.ID {
		t.Errorf("update event: %+v", upd)
	}

	byTarget, _ := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{TargetID: u.ID})
	byAction, _ := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{Action: accounts.ActionUserDeactivate})
	byActor, _ := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{ActorID: admin.UserID, Limit: 2})
	if len(byTarget.Events) != 5 || len(byAction.Events) != 1 || len(byActor.Events) != 2 || byActor.NextCursor == "" {
		t.Errorf("filters: target %d, action %d, actor page %d (cursor %q)", len(byTarget.Events), len(byAction.Events), len(byActor.Events), byActor.NextCursor)
	}
	var paged []string
	q := accounts.AuditQuery{Limit: 3}
	for range 10 {
		// Time passes between pages; a listing "up to now" must still
		// resume where it stopped.
		f.clock.Advance(time.Minute)
		page, err := f.svc.ListAudit(ctx, admin, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			paged = append(paged, e.Action)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged trail %v", paged)
	}
	old, _ := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{To: f.clock.Now().Add(-time.Hour)})
	if len(old.Events) != 0 {
		t.Errorf("time filter: %d events", len(old.Events))
	}
}

func TestOtherTenantsAdminTouchesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	kpu := f.tenant(t, "kpu")
	ubc := f.tenant(t, "ubc")
	box := &outbox{}
	svc := f.serviceWith(box)
	u := f.user(t, kpu, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.ca"})

	checks := map[string]error{}
	_, checks["update"] = svc.UpdateUser(ctx, ubc, u.ID, u.Version, accounts.UserPatch{Email: ptr("x@ubc.ca")})
	_, checks["deactivate"] = svc.SetUserStatus(ctx, ubc, u.ID, accounts.StatusInactive)
	checks["delete"] = svc.DeleteUser(ctx, ubc, u.ID, "patron")
	_, checks["reset"] = svc.ResetPassword(ctx, ubc, u.ID, accounts.ResetPasswordInput{SendResetLink: true})
	res, _ := svc.BulkUsers(ctx, ubc, accounts.BulkDelete, []string{u.ID}, true)
	for name, err := range checks {
		if accounts.ErrorCode(err) != accounts.CodeNotFound {
			t.Errorf("%s across tenants: %v, want not_found", name, err)
		}
	}
	if len(res) != 1 || res[0].Code != accounts.CodeNotFound {
		t.Errorf("bulk across tenants: %+v", res)
	}
	got, err := svc.GetUser(ctx, kpu, u.ID)
	if err != nil || got.Version != u.Version || got.Status != accounts.StatusActive {
		t.Errorf("the user changed: %+v %v", got, err)
	}
	if len(box.sent) != 0 {
		t.Errorf("mail was sent across tenants")
	}
}
