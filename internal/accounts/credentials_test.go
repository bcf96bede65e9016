package accounts_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// sendLink has staff e-mail u a reset link and returns its token.
func (e *resetEnv) sendLink(tb testing.TB, u accounts.User) string {
	tb.Helper()
	if _, err := e.svc.ResetPassword(context.Background(), e.admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		tb.Fatal(err)
	}
	e.deliver(tb, e.svc)
	return tokenIn(tb, e.box.last(tb).Text)
}

const linkPassword = "chosen through the link 42"

func wantDeadLink(tb testing.TB, err error) {
	tb.Helper()
	wantCode(tb, err, accounts.CodeInvalid)
	if accounts.PublicField(err) != "token" {
		tb.Fatalf("a dead link is refused as %q: %v", accounts.PublicField(err), err)
	}
}

// TestOutstandingLinksEndOnEveryCredentialEvent sends a link, then does
// one thing that changes the user's credentials: the link must no longer
// set a password, before its expiry and after a reactivation too.
func TestOutstandingLinksEndOnEveryCredentialEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name  string
		event func(t *testing.T, e *resetEnv, u accounts.User)
	}{
		{"the user changes their password", func(t *testing.T, e *resetEnv, u accounts.User) {
			c := e.login(t, "kpu", u.Username, userPassword)
			if err := e.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: userPassword, NewPassword: "my very own phrase 7"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"staff set a password", func(t *testing.T, e *resetEnv, u accounts.User) {
			if _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, accounts.ResetPasswordInput{Password: "chosen by staff 123", PasswordConfirmation: "chosen by staff 123"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"staff generate one", func(t *testing.T, e *resetEnv, u accounts.User) {
			if _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, accounts.ResetPasswordInput{Generate: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{"staff mail a temporary one", func(t *testing.T, e *resetEnv, u accounts.User) {
			if _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, accounts.ResetPasswordInput{Generate: true, Notify: true}); err != nil {
				t.Fatal(err)
			}
			e.deliver(t, e.svc)
		}},
		{"a bulk reset to a default", func(t *testing.T, e *resetEnv, u accounts.User) {
			if _, err := e.svc.StartPasswordReset(ctx, e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: []string{u.ID}, Mode: accounts.ResetDefault, DefaultPassword: "library default passphrase 2026"}); err != nil {
				t.Fatal(err)
			}
			e.run(t, 1)
		}},
		{"a bulk link reset that ends the current password", func(t *testing.T, e *resetEnv, u accounts.User) {
			if _, err := e.svc.StartPasswordReset(ctx, e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: []string{u.ID}, Mode: accounts.ResetLink, InvalidateCurrent: true}); err != nil {
				t.Fatal(err)
			}
			e.run(t, 1)
		}},
		{"deactivation, then reactivation", func(t *testing.T, e *resetEnv, u accounts.User) {
			for _, st := range []accounts.Status{accounts.StatusInactive, accounts.StatusActive} {
				if _, err := e.svc.SetUserStatus(ctx, e.admin, u.ID, st); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"a new e-mail address", func(t *testing.T, e *resetEnv, u accounts.User) {
			cur, _ := e.store.GetUser(ctx, "kpu", u.ID)
			if _, err := e.svc.UpdateUser(ctx, e.admin, u.ID, cur.Version, accounts.UserPatch{Email: ptr("anna.new@kpu.example")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a newer link", func(t *testing.T, e *resetEnv, u accounts.User) {
			newer := e.sendLink(t, u)
			t.Cleanup(func() {
				// The newer one is the one that works.
				if err := e.svc.CompletePasswordReset(ctx, newer, linkPassword); err != nil {
					t.Errorf("the newer link: %v", err)
				}
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newResetEnv(t)
			u := e.users["anna"]
			token := e.sendLink(t, u)
			tc.event(t, e, u)
			e.notices.take()
			wantDeadLink(t, e.svc.CompletePasswordReset(ctx, token, linkPassword))
			if e.canLogin(t, "anna", linkPassword) {
				t.Fatal("the dead link set the password")
			}
		})
	}
}

func TestAnImportedPasswordEndsOutstandingLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newImportEnv(t, nil)
	u := e.fixture.user(t, e.admin, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.example"})
	if _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, e.svc)
	token := tokenIn(t, e.box.last(t).Text)
	j := e.upload(t, accounts.StartImportInput{Mode: accounts.ModeUpsert}, "username,password\npatron,imported passphrase 2026\n")
	e.ingest(t)
	e.work(t)
	if got := e.job(t, j.ID); got.Updated != 1 {
		t.Fatalf("upsert: %+v", got)
	}
	wantDeadLink(t, e.svc.CompletePasswordReset(ctx, token, linkPassword))
}

// TestALinkSetsThePasswordOnce: it works while the account is locked,
// clears the lock, ends sessions, tells the user, and signs nobody in.
func TestALinkSetsThePasswordOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newResetEnv(t)
	u := e.users["anna"]
	session := e.login(t, "kpu", "anna", userPassword)
	for range 5 {
		if e.canLogin(t, "anna", "wrong wrong wrong wrong") {
			t.Fatal("a wrong password signed in")
		}
	}
	token := e.sendLink(t, u)
	if err := e.svc.CompletePasswordReset(ctx, token, linkPassword); err != nil {
		t.Fatalf("a valid link on a locked account: %v", err)
	}
	if !e.canLogin(t, "anna", linkPassword) || e.canLogin(t, "anna", userPassword) {
		t.Error("after the link: the new password must work and the old not")
	}
	if _, err := e.svc.Me(ctx, session); accounts.ErrorCode(err) != accounts.CodeUnauthorized {
		t.Errorf("a session from before the link: %v", err)
	}
	queued := e.notices.take()
	if len(queued) != 1 {
		t.Fatalf("%d notices queued, want the password-changed one", len(queued))
	}
	n, err := e.store.GetNotice(ctx, "kpu", u.ID, queued[0].ref.NoticeID)
	if err != nil || n.Kind != accounts.NoticePasswordChanged {
		t.Fatalf("queued %+v (%v)", n, err)
	}
	if err := e.svc.DeliverNotice(ctx, queued[0].ref); err != nil {
		t.Fatal(err)
	}
	if m := e.box.last(t); m.To != "anna@kpu.example" || !strings.Contains(m.Subject, "password was changed") || strings.Contains(m.Text, linkPassword) {
		t.Errorf("the password-changed mail: to %s, %q", m.To, m.Subject)
	}
	wantDeadLink(t, e.svc.CompletePasswordReset(ctx, token, "and once more with feeling"))
}

func TestTwoUsesOfOneLinkAtOnceHaveOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newResetEnv(t)
	token := e.sendLink(t, e.users["anna"])
	passwords := []string{"first of two passphrases", "second of two passphrases"}
	errs := make([]error, len(passwords))
	var wg sync.WaitGroup
	for i, pw := range passwords {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.svc.CompletePasswordReset(ctx, token, pw)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			if won >= 0 {
				t.Fatal("both uses of one link succeeded")
			}
			won = i
			continue
		}
		wantDeadLink(t, err)
	}
	if won < 0 {
		t.Fatal("neither use succeeded")
	}
	if !e.canLogin(t, "anna", passwords[won]) || e.canLogin(t, "anna", passwords[1-won]) {
		t.Error("the password is not the winner's")
	}
}
