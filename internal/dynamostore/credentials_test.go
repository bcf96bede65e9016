package dynamostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

func storeWithUser(tb testing.TB) (*dynamostore.Store, accounts.User) {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	st := dynamostore.New(client, table)
	u := newUser("kpu", id(1), "a")
	u.Email = "a@kpu.example"
	if err := st.CreateUser(context.Background(), u, nil); err != nil {
		tb.Fatal(err)
	}
	return st, u
}

func epochOf(tb testing.TB, st *dynamostore.Store, u accounts.User) int64 {
	tb.Helper()
	got, err := st.GetUser(context.Background(), u.TenantID, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return got.CredentialEpoch
}

func link(u accounts.User, tokenID string, epoch int64) accounts.ResetToken {
	return accounts.ResetToken{TenantID: u.TenantID, UserID: u.ID, ID: tokenID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Epoch: epoch}
}

// TestALinkWorksOnlyAtItsEpoch: the write that uses a link checks the
// epoch itself, so that a credential event between the domain's read and
// the write still ends the link.
func TestALinkWorksOnlyAtItsEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, u := storeWithUser(t)
	if err := st.PutResetToken(ctx, link(u, "t1", 1), nil); err != nil {
		t.Fatal(err)
	}
	if e := epochOf(t, st, u); e != 1 {
		t.Fatalf("issuing a link left the epoch at %d", e)
	}
	// A second link from the same read is refused: it was issued for an
	// epoch that is gone.
	if err := st.PutResetToken(ctx, link(u, "t2", 1), nil); accounts.ErrorCode(err) != accounts.CodeConflict {
		t.Fatalf("a link from a stale read: %v", err)
	}
	if err := st.SetPassword(ctx, u.TenantID, u.ID, u.Version, "$argon2id$staff", false, t0, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteReset(ctx, link(u, "t1", 1), "$argon2id$link", t0); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Fatalf("a link used after a password change: %v", err)
	}
	got, _ := st.GetUser(ctx, u.TenantID, u.ID)
	if got.PasswordHash != "$argon2id$staff" || got.CredentialEpoch != 2 {
		t.Fatalf("after the refused link: hash %q, epoch %d", got.PasswordHash, got.CredentialEpoch)
	}

	// A link at the current epoch works once, and clears the lock.
	if err := st.PutResetToken(ctx, link(u, "t3", 3), nil); err != nil {
		t.Fatal(err)
	}
	locked := accounts.LoginCounter{Failures: 5, LastFailureAt: t0, LockedUntil: t0.Add(time.Minute)}
	if err := st.CountLoginAttempt(ctx, accounts.LoginCounterRef{TenantID: u.TenantID, UserID: u.ID}, accounts.LoginCounter{}, locked, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteReset(ctx, link(u, "t3", 3), "$argon2id$link", t0); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetUser(ctx, u.TenantID, u.ID)
	if got.PasswordHash != "$argon2id$link" || got.FailedLogins != 0 || !got.LockedUntil.IsZero() || got.CredentialEpoch != 4 || got.Version != u.Version+2 {
		t.Errorf("after the link: %+v", got)
	}
	if err := st.CompleteReset(ctx, link(u, "t3", 3), "$argon2id$again", t0); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("a link used twice: %v", err)
	}
}

func TestALinkOfADeactivatedUserSetsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, u := storeWithUser(t)
	if err := st.PutResetToken(ctx, link(u, "t1", 1), nil); err != nil {
		t.Fatal(err)
	}
	u.CredentialEpoch = 1
	off := u
	off.Status, off.Version = accounts.StatusInactive, u.Version+1
	if err := st.UpdateUser(ctx, u, off, nil); err != nil {
		t.Fatal(err)
	}
	// Even at the old epoch (as if deactivation did not move it), an
	// inactive user's link is refused.
	if err := st.CompleteReset(ctx, link(u, "t1", epochOf(t, st, u)), "$argon2id$link", t0); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Fatalf("a link of an inactive user: %v", err)
	}
}

// TestWhichEditsEndCredentials: the store applies the domain's rule on
// every UpdateUser.
func TestWhichEditsEndCredentials(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*accounts.User)
		ends bool
	}{
		{"queues", func(u *accounts.User) { u.Queues = []string{"q"} }, false},
		{"roles", func(u *accounts.User) { u.Roles = []string{"agent"} }, false},
		{"e-mail case", func(u *accounts.User) { u.Email = "A@kpu.example" }, false},
		{"e-mail", func(u *accounts.User) { u.Email = "b@kpu.example" }, true},
		{"password", func(u *accounts.User) { u.PasswordHash = "$argon2id$imported" }, true},
		{"deactivation", func(u *accounts.User) { u.Status = accounts.StatusInactive }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, u := storeWithUser(t)
			next := u
			tc.edit(&next)
			next.Version = u.Version + 1
			if err := st.UpdateUser(context.Background(), u, next, nil); err != nil {
				t.Fatal(err)
			}
			if got := epochOf(t, st, u) == 1; got != tc.ends {
				t.Errorf("epoch moved = %v, want %v", got, tc.ends)
			}
		})
	}
}

func TestIssuingAClaimedLinkMovesTheEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, u := storeWithUser(t)
	claim := accounts.Notice{TenantID: u.TenantID, UserID: u.ID, ID: "00000000000000000000000000000001", Kind: accounts.NoticeResetLink,
		Status: accounts.NoticeSending, Attempts: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := st.PutNotice(ctx, claim, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.PutClaimedResetToken(ctx, claim, link(u, "t1", 1)); err != nil {
		t.Fatal(err)
	}
	if e := epochOf(t, st, u); e != 1 {
		t.Fatalf("epoch %d after a claimed link", e)
	}
	// Made from a read older than that link: refused, and not as a lost
	// claim (the notice should be tried again).
	err := st.PutClaimedResetToken(ctx, claim, link(u, "t2", 1))
	if accounts.ErrorCode(err) != accounts.CodeConflict || accounts.PublicField(err) == "notice" {
		t.Fatalf("a claimed link from a stale read: %v (field %q)", err, accounts.PublicField(err))
	}
	if _, err := st.GetResetToken(ctx, u.TenantID, u.ID, "t2"); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("the refused link was stored: %v", err)
	}
	if err := st.SetClaimedPassword(ctx, claim, u.Version, "$argon2id$temp", true, t0); err != nil {
		t.Fatal(err)
	}
	if e := epochOf(t, st, u); e != 2 {
		t.Errorf("epoch %d after a mailed temporary password", e)
	}
}

// TestSignInCountersAreComparedAndSet: a count from a stale read is
// refused, for users and for ghost counters alike.
func TestSignInCountersAreComparedAndSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, u := storeWithUser(t)
	for _, ref := range []accounts.LoginCounterRef{
		{TenantID: u.TenantID, UserID: u.ID},
		{TenantID: u.TenantID, Ghost: "0123abcd"},
	} {
		c, err := st.GetLoginCounter(ctx, ref)
		if err != nil || c.Failures != 0 {
			t.Fatalf("%+v: fresh counter %+v (%v)", ref, c, err)
		}
		one := accounts.LoginCounter{Failures: 1, LastFailureAt: t0}
		if err := st.CountLoginAttempt(ctx, ref, c, one, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.CountLoginAttempt(ctx, ref, c, one, t0.Add(time.Hour)); accounts.ErrorCode(err) != accounts.CodeConflict {
			t.Fatalf("%+v: a count from a stale read: %v", ref, err)
		}
		locked := accounts.LoginCounter{Failures: 2, LastFailureAt: t0.Add(time.Second), LockedUntil: t0.Add(time.Minute)}
		if err := st.CountLoginAttempt(ctx, ref, one, locked, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetLoginCounter(ctx, ref); got != locked {
			t.Errorf("%+v: stored %+v, want %+v", ref, got, locked)
		}
	}
	if _, err := st.GetLoginCounter(ctx, accounts.LoginCounterRef{TenantID: "kpu", UserID: id(9)}); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("an absent user's counter: %v", err)
	}
	if err := st.CountLoginAttempt(ctx, accounts.LoginCounterRef{TenantID: "kpu", UserID: id(9)}, accounts.LoginCounter{}, accounts.LoginCounter{Failures: 1, LastFailureAt: t0}, time.Time{}); accounts.ErrorCode(err) != accounts.CodeConflict {
		t.Errorf("counting on an absent user must not create it: %v", err)
	}
	if _, err := st.GetUser(ctx, "kpu", id(9)); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("a user item appeared: %v", err)
	}
	if err := st.ClearLoginFailures(ctx, u.TenantID, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetUser(ctx, u.TenantID, u.ID); got.FailedLogins != 0 || !got.LockedUntil.IsZero() || !got.LastFailureAt.IsZero() {
		t.Errorf("after unlock: %+v", got)
	}
}
