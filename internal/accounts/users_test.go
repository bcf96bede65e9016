package accounts_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	f.user(t, admin, accounts.CreateUserInput{Username: "Taken", Barcode: "B100", PrimaryID: "0123456"})

	cases := []struct {
		name  string
		in    accounts.CreateUserInput
		code  accounts.Code
		field string
	}{
		{"no username", accounts.CreateUserInput{Password: "a perfectly fine passphrase"}, accounts.CodeInvalid, "username"},
		{"space in username", accounts.CreateUserInput{Username: "a b", Password: "a perfectly fine passphrase"}, accounts.CodeInvalid, "username"},
		{"no password", accounts.CreateUserInput{Username: "x1"}, accounts.CodeInvalid, "password"},
		{"both password kinds", accounts.CreateUserInput{Username: "x1", Password: "a perfectly fine passphrase", GeneratePassword: true}, accounts.CodeInvalid, "password"},
		{"weak password", accounts.CreateUserInput{Username: "x1", Password: "12345678"}, accounts.CodeInvalid, "password"},
		{"bad email", accounts.CreateUserInput{Username: "x1", Password: "a perfectly fine passphrase", Email: "not-an-email"}, accounts.CodeInvalid, "email"},
		{"bad role", accounts.CreateUserInput{Username: "x1", Password: "a perfectly fine passphrase", Roles: []string{"Root Admin!"}}, accounts.CodeInvalid, "roles"},
		{"username taken, other case", accounts.CreateUserInput{Username: "tAKEN", Password: "a perfectly fine passphrase"}, accounts.CodeConflict, "username"},
		{"barcode taken", accounts.CreateUserInput{Username: "x2", Password: "a perfectly fine passphrase", Barcode: "b100"}, accounts.CodeConflict, "barcode"},
		{"primary id taken", accounts.CreateUserInput{Username: "x3", Password: "a perfectly fine passphrase", PrimaryID: "0123456"}, accounts.CodeConflict, "primaryId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(ctx, admin, tc.in)
			wantCode(t, err, tc.code)
			if got := accounts.PublicField(err); got != tc.field {
				t.Errorf("field = %q, want %q", got, tc.field)
			}
		})
	}
	// A refused create leaves nothing behind: the barcode of the failed
	// x2 is still free for someone else.
	f.user(t, admin, accounts.CreateUserInput{Username: "x2", Barcode: "B200"})
}

func TestCreateUserKeepsIdentifiersAndCopiesNothingSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	out, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{
		Username: "kpu-sadie-p", GeneratePassword: true, Email: "Sadie@KPU.ca", PrimaryID: "0012345",
		Roles: []string{"agent", "agent"}, Queues: []string{"kpu-chat", "proactive"}, CannedMessagePools: []string{"kpu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if u.PrimaryID != "0012345" || u.Email != "Sadie@kpu.ca" || !slices.Equal(u.Roles, []string{"agent"}) || u.Status != accounts.StatusActive {
		t.Errorf("stored fields wrong: %+v", u)
	}
	if len(out.GeneratedPassword) < 15 {
		t.Errorf("generated password too short: %d", len(out.GeneratedPassword))
	}
	got, err := f.svc.GetUser(ctx, admin, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "kpu-sadie-p" || !slices.Equal(got.Queues, []string{"kpu-chat", "proactive"}) || !got.MustChangePassword {
		t.Errorf("read back: %+v", got)
	}
	f.login(t, "kpu", "KPU-Sadie-P", out.GeneratedPassword)
}

func TestConcurrentCreatesOfOneUsernameHaveOneWinner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.CreateUser(context.Background(), admin, accounts.CreateUserInput{Username: "same", Password: "a perfectly fine passphrase"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch accounts.ErrorCode(err) {
		case "":
			wins++
		case accounts.CodeConflict:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates of one username succeeded, want 1", wins)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.tenant(t, "kpu")
	b := f.tenant(t, "ubc")
	u := f.user(t, a, accounts.CreateUserInput{Username: "patron", Barcode: "777"})

	_, err := f.svc.GetUser(ctx, b, u.ID)
	wantCode(t, err, accounts.CodeNotFound)
	page, err := f.svc.ListUsers(ctx, b, accounts.UserQuery{Prefix: "patron"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Users) != 0 {
		t.Errorf("tenant ubc sees %d users of kpu", len(page.Users))
	}
	// The same username and barcode are free in another library.
	f.user(t, b, accounts.CreateUserInput{Username: "patron", Barcode: "777"})
	// A patron of kpu cannot sign in to ubc with kpu's password.
	_, err = f.svc.Login(ctx, accounts.LoginInput{Tenant: "ubc", Username: "admin", Password: "wrong for ubc entirely"})
	wantCode(t, err, accounts.CodeUnauthorized)
}

func TestStaffRoutesNeedAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron", Password: "temporary passphrase 1"})
	c := f.login(t, "kpu", "patron", "temporary passphrase 1")
	if err := f.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: "temporary passphrase 1", NewPassword: "now my very own phrase"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.GetUser(ctx, c, u.ID)
	wantCode(t, err, accounts.CodeForbidden)
	_, err = f.svc.ListUsers(ctx, c, accounts.UserQuery{})
	wantCode(t, err, accounts.CodeForbidden)
	_, err = f.svc.CreateUser(ctx, c, accounts.CreateUserInput{Username: "sneaky", Password: "a perfectly fine passphrase", Roles: []string{"admin"}})
	wantCode(t, err, accounts.CodeForbidden)
}

func TestListUsersPagesThroughEveryShardInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	var want []string
	for i := range 45 {
		in := accounts.CreateUserInput{Username: fmt.Sprintf("User%02d", i), Password: "a perfectly fine passphrase"}
		if i%3 == 0 {
			in.Roles = []string{"agent"}
		}
		f.user(t, admin, in)
		want = append(want, strings.ToLower(in.Username))
	}
	want = append(want, "admin")
	slices.Sort(want)

	var got []string
	q := accounts.UserQuery{Limit: 7}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		page, err := f.svc.ListUsers(ctx, admin, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) > 7 {
			t.Fatalf("page of %d > limit", len(page.Users))
		}
		for _, u := range page.Users {
			got = append(got, strings.ToLower(u.Username))
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged listing:\n got %v\nwant %v", got, want)
	}

	count := func(q accounts.UserQuery) int {
		t.Helper()
		q.Limit = 200
		page, err := f.svc.ListUsers(ctx, admin, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Users)
	}
	for name, tc := range map[string]struct {
		q    accounts.UserQuery
		want int
	}{
		"prefix":          {accounts.UserQuery{Prefix: "USER1"}, 10},
		"role":            {accounts.UserQuery{Role: "agent"}, 15},
		"admin role":      {accounts.UserQuery{Role: "admin"}, 1},
		"no role":         {accounts.UserQuery{NoRole: true}, 30},
		"status active":   {accounts.UserQuery{Status: accounts.StatusActive}, 46},
		"status inactive": {accounts.UserQuery{Status: accounts.StatusInactive}, 0},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%s: %d users, want %d", name, got, tc.want)
		}
	}

	page, err := f.svc.ListUsers(ctx, admin, accounts.UserQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]accounts.UserQuery{
		"garbage cursor":        {Cursor: "!!!"},
		"cursor of other query": {Cursor: page.NextCursor, Role: "agent"},
		"limit too big":         {Limit: 500},
		"bad status":            {Status: "deleted"},
		"role and noRole":       {Role: "agent", NoRole: true},
	} {
		_, err := f.svc.ListUsers(ctx, admin, q)
		if accounts.ErrorCode(err) != accounts.CodeInvalid {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}
