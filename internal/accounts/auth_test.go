package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

func TestLoginRefusalsAreIndistinguishable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	u := f.user(t, admin, accounts.CreateUserInput{Username: "Sadie.P", Password: "reading is fundamental"})
	inactive := accounts.User{TenantID: "kpu", ID: "inactiveuserid2345672345ab", Username: "gone", Status: accounts.StatusInactive, Version: 1}
	hash, _ := passhash.New(fastParams).Hash("reading is fundamental")
	inactive.PasswordHash = hash
	if err := f.store.CreateUser(ctx, inactive, nil); err != nil {
		t.Fatal(err)
	}

	// Every refusal must look the same to the caller, so that nobody can
	// learn which tenants and usernames exist or which accounts are
	// inactive.
	cases := []struct{ name, tenant, username, password string }{
		{"wrong password", "kpu", u.Username, "not the password at all"},
		{"unknown user", "kpu", "nobody", "reading is fundamental"},
		{"unknown tenant", "zzz", u.Username, "reading is fundamental"},
		{"malformed tenant", "K P U", u.Username, "reading is fundamental"},
		{"inactive user", "kpu", "gone", "reading is fundamental"},
		{"huge password", "kpu", u.Username, strings.Repeat("x", 10000)},
	}
	var first string
	for _, c := range cases {
		_, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: c.tenant, Username: c.username, Password: c.password})
		wantCode(t, err, accounts.CodeUnauthorized)
		if first == "" {
			first = accounts.PublicMessage(err)
		}
		if got := accounts.PublicMessage(err); got != first {
			t.Errorf("%s: message %q differs from %q", c.name, got, first)
		}
	}
}

func TestLoginIsCaseInsensitiveAndReturnsMustChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	f.user(t, admin, accounts.CreateUserInput{Username: "Sadie.P", Password: "reading is fundamental"})
	res, err := f.svc.Login(context.Background(), accounts.LoginInput{Tenant: "kpu", Username: "sadie.p", Password: "reading is fundamental"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.MustChangePassword {
		t.Error("a staff-set password must be changed at first sign-in")
	}
	if want := f.clock.Now().Add(12 * time.Hour); !res.ExpiresAt.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", res.ExpiresAt, want)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.tenant(t, "kpu")
	login := func() string {
		res, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: adminPassword})
		if err != nil {
			t.Fatal(err)
		}
		return res.Token
	}

	idle := login()
	f.clock.Advance(31 * time.Minute)
	_, err := f.svc.Authorize(ctx, idle)
	wantCode(t, err, accounts.CodeUnauthorized)

	// Use within the idle window keeps a session alive up to the absolute
	// limit, and no further.
	active := login()
	for range 30 {
		f.clock.Advance(29 * time.Minute)
		if _, err := f.svc.Authorize(ctx, active); err != nil {
			if f.clock.Now().Sub(time.Date(2026, 3, 1, 9, 31, 0, 0, time.UTC)) < 12*time.Hour {
				t.Fatalf("session died early at %v: %v", f.clock.Now(), err)
			}
			return
		}
	}
	t.Fatal("session outlived its absolute expiry")
}

func TestAuthorizeRejectsBadTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.tenant(t, "kpu")
	res, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(res.Token, ".")
	cases := map[string]string{
		"empty":          "",
		"garbage":        "not-a-token",
		"other tenant":   "abc." + parts[1] + "." + parts[2],
		"flipped secret": parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2][:1]) + "A" + parts[2][2:],
		"unknown user":   parts[0] + ".aaaaaaaaaaaaaaaaaaaaaaaaaa." + parts[2],
		"extra part":     res.Token + ".x",
	}
	for name, tok := range cases {
		if _, err := f.svc.Authorize(ctx, tok); accounts.ErrorCode(err) != accounts.CodeUnauthorized {
			t.Errorf("%s: err = %v, want unauthorized", name, err)
		}
	}
	c := callerOf(t, f.svc, res.Token)
	if err := f.svc.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authorize(ctx, res.Token)
	wantCode(t, err, accounts.CodeUnauthorized)
	_, err = f.svc.Me(ctx, c)
	wantCode(t, err, accounts.CodeUnauthorized)
}

func TestMustChangePasswordLimitsTheSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	f.user(t, admin, accounts.CreateUserInput{Username: "staffer", Password: "temporary passphrase 1", Roles: []string{"admin"}})
	c := f.login(t, "kpu", "staffer", "temporary passphrase 1")

	if _, err := f.svc.Me(ctx, c); err != nil {
		t.Fatalf("me while must-change: %v", err)
	}
	_, err := f.svc.ListUsers(ctx, c, accounts.UserQuery{})
	wantCode(t, err, accounts.CodeForbidden)

	if err := f.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: "temporary passphrase 1", NewPassword: "my own secret phrase now"}); err != nil {
		t.Fatal(err)
	}
	// The same session is no longer limited: no new login is needed.
	if _, err := f.svc.ListUsers(ctx, c, accounts.UserQuery{}); err != nil {
		t.Fatalf("list after change: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	f.user(t, admin, accounts.CreateUserInput{Username: "patron7", Barcode: "21234000123", Password: "temporary passphrase 1"})
	c := f.login(t, "kpu", "patron7", "temporary passphrase 1")
	other := f.login(t, "kpu", "patron7", "temporary passphrase 1")

	cases := []struct {
		name, current, next, field string
		code                       accounts.Code
	}{
		{"wrong current", "nope nope nope nope", "a brand new passphrase", "currentPassword", accounts.CodeInvalid},
		{"too short", "temporary passphrase 1", "short1", "newPassword", accounts.CodeInvalid},
		{"common", "temporary passphrase 1", "qwertyuiopasdfgh", "newPassword", accounts.CodeInvalid},
		{"contains username", "temporary passphrase 1", "my name is patron7 ok", "newPassword", accounts.CodeInvalid},
		{"contains barcode", "temporary passphrase 1", "x21234000123 library", "newPassword", accounts.CodeInvalid},
		{"same as current", "temporary passphrase 1", "temporary passphrase 1", "newPassword", accounts.CodeInvalid},
		{"missing new", "temporary passphrase 1", "", "newPassword", accounts.CodeInvalid},
	}
	for _, tc := range cases {
		err := f.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: tc.current, NewPassword: tc.next})
		wantCode(t, err, tc.code)
		if got := accounts.PublicField(err); got != tc.field {
			t.Errorf("%s: field = %q, want %q", tc.name, got, tc.field)
		}
		if tc.next != "" && strings.Contains(accounts.PublicMessage(err), tc.next) {
			t.Errorf("%s: message echoes the password", tc.name)
		}
	}

	if err := f.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: "temporary passphrase 1", NewPassword: "ｆｕｌｌｗｉｄｔｈ passphrase"}); err != nil {
		t.Fatal(err)
	}
	// The user's other session is revoked; this one survives.
	if _, err := f.svc.Me(ctx, other); accounts.ErrorCode(err) != accounts.CodeUnauthorized {
		t.Errorf("other session after change: %v, want unauthorized", err)
	}
	if _, err := f.svc.Me(ctx, c); err != nil {
		t.Errorf("current session after change: %v", err)
	}
	// NFKC: the fullwidth form and the plain form are one password.
	f.login(t, "kpu", "patron7", "fullwidth passphrase")
}

func TestHashUpgradeOnLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.tenant(t, "kpu")
	stronger := fastParams
	stronger.MemoryKiB, stronger.Time = 128, 2
	svc := f.service(stronger)
	if _, err := svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	u, err := f.store.GetUserByUsername(ctx, "kpu", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.PasswordHash, "m=128,t=2,p=1") {
		t.Errorf("hash not upgraded to the current parameters: %s", u.PasswordHash[:30])
	}
	if _, err := svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: adminPassword}); err != nil {
		t.Fatalf("login with upgraded hash: %v", err)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	out, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "gen", GeneratePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "gen", Password: out.GeneratedPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "gen", Password: "wrong guess number one"})
	logs := f.logs.String()
	for _, secret := range []string{out.GeneratedPassword, res.Token, strings.Split(res.Token, ".")[2], adminPassword, "wrong guess number one", accounts.SessionIDOf(res.Token)} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret (%d chars)", len(secret))
		}
	}
}
