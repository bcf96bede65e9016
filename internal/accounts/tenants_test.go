package accounts_test

import (
	"context"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// TestBootstrapWritesNothingWhenTheAdminIsRefused: a refused admin leaves
// no tenant behind, so the operator can simply run the command again.
func TestBootstrapWritesNothingWhenTheAdminIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    accounts.BootstrapInput
		field string
	}{
		{name: "password too short", in: accounts.BootstrapInput{AdminUsername: "admin", AdminPassword: "short"}, field: "adminPassword"},
		{name: "password holds the library's name", in: accounts.BootstrapInput{TenantName: "Riverside", AdminUsername: "admin", AdminPassword: "riverside riverside 2026"}, field: "adminPassword"},
		{name: "bad e-mail", in: accounts.BootstrapInput{AdminUsername: "admin", AdminEmail: "not an address", AdminPassword: adminPassword}},
		{name: "bad username", in: accounts.BootstrapInput{AdminUsername: "   ", AdminPassword: adminPassword}},
		{name: "library name with a bell", in: accounts.BootstrapInput{TenantName: "River\aside", AdminUsername: "admin", AdminPassword: adminPassword}, field: "name"},
		{name: "library name with NEL", in: accounts.BootstrapInput{TenantName: "River\u0085side", AdminUsername: "admin", AdminPassword: adminPassword}, field: "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			in := tt.in
			in.TenantID = "kpu"
			_, err := f.svc.Bootstrap(ctx, in)
			wantCode(t, err, accounts.CodeInvalid)
			if tt.field != "" && accounts.PublicField(err) != tt.field {
				t.Errorf("field %q, want %q (%v)", accounts.PublicField(err), tt.field, err)
			}
			if _, err := f.store.GetTenant(ctx, "kpu"); accounts.ErrorCode(err) != accounts.CodeNotFound {
				t.Fatalf("a refused bootstrap left the tenant: %v", err)
			}
			// Run again with a good admin: all of it is created now.
			in.TenantName, in.AdminUsername, in.AdminEmail, in.AdminPassword = "", "admin", "it@kpu.example", adminPassword
			res, err := f.svc.Bootstrap(ctx, in)
			if err != nil || !res.TenantCreated || !res.AdminCreated {
				t.Fatalf("second run: %+v, %v", res, err)
			}
			f.login(t, "kpu", "admin", adminPassword)
		})
	}
}

// TestBootstrapCountsItsAdmin: the tenant and its admin are written
// together, so the tenant's count of active admins must already include
// the admin; with two admins, one may be deactivated.
func TestBootstrapCountsItsAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	admin := f.login(t, "kpu", "admin", adminPassword)
	second := f.user(t, admin, accounts.CreateUserInput{Username: "second.admin", Roles: []string{accounts.RoleAdmin}})
	other := f.login(t, "kpu", "second.admin", "a perfectly fine passphrase")
	if err := f.svc.ChangePassword(ctx, other, accounts.ChangePasswordInput{CurrentPassword: "a perfectly fine passphrase", NewPassword: "blue river lantern morning"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetUserStatus(ctx, other, res.AdminID, accounts.StatusInactive); err != nil {
		t.Fatalf("deactivating one of two admins: %v", err)
	}
	// The one left is the last: it stays.
	prev, err := f.store.GetUser(ctx, "kpu", second.ID)
	if err != nil {
		t.Fatal(err)
	}
	next := prev
	next.Status, next.Version = accounts.StatusInactive, prev.Version+1
	err = f.store.UpdateUser(ctx, prev, next, nil)
	if accounts.ErrorCode(err) != accounts.CodeConflict || accounts.PublicField(err) != "roles" {
		t.Fatalf("deactivating the last active admin: %v, want a conflict on roles", err)
	}
}

// TestBootstrapIsIdempotent: a second run changes nothing, and a tenant
// that has no admin yet (made by an older version, or by hand) gets one.
func TestBootstrapIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	in := accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: adminPassword}
	first, err := f.svc.Bootstrap(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Bootstrap(ctx, in)
	if err != nil || again.TenantCreated || again.AdminCreated || again.AdminID != first.AdminID {
		t.Fatalf("second run: %+v, %v (first %+v)", again, err, first)
	}

	if err := f.store.CreateTenant(ctx, accounts.Tenant{ID: "ubc", Name: "UBC", Settings: accounts.DefaultSettings(), Version: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "ubc", AdminUsername: "admin"})
	if err != nil || res.TenantCreated || !res.AdminCreated || res.GeneratedPassword == "" {
		t.Fatalf("tenant without admin: %+v, %v", res, err)
	}
	f.login(t, "ubc", "admin", res.GeneratedPassword)
}

// TestSenderNamesThatWouldBreakAMailAreRefused: a sender name is a mail
// header; one with a control character was accepted and then failed every
// notice of the library.
func TestSenderNamesThatWouldBreakAMailAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Riverside Library", true},
		{"Bibliothèque Québec – Centre", true},
		{"Riverside\a Library", false},
		{"Riverside\u0085Library", false},
		{"Riverside\u2028Library", false},
		{"Riverside\u202eyrarbiL", false},
		{"Riverside\u200bLibrary", false},
		{"Riverside\r\nBcc: x@example.org", false},
		{"Riverside \"Library\"", false},
		{"River\xffside", false},
	} {
		s := accounts.DefaultSettings()
		s.SenderName = tc.name
		err := s.Validate()
		if tc.ok && err != nil {
			t.Errorf("%q refused: %v", tc.name, err)
		}
		if !tc.ok && (accounts.ErrorCode(err) != accounts.CodeInvalid || accounts.PublicField(err) != "senderName") {
			t.Errorf("%q: %v, want invalid senderName", tc.name, err)
		}
	}
}
