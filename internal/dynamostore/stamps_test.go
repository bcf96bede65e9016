package dynamostore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// TestUserStampsAreAllOrNone: a batch's shared reset write stamps every
// user with its notice, or, when one of them changed meanwhile or carries
// the stamp already, none, so that the caller can decide user by user.
func TestUserStampsAreAllOrNone(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	const job = "job00000000000000000000001"
	var stamps []accounts.UserStamp
	var ids []string
	for i := range accounts.MaxStampsPerWrite + 2 {
		u := newUser("kpu", id(700+i), fmt.Sprintf("s%02d", i))
		if err := st.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		nt := &accounts.Notice{TenantID: "kpu", UserID: u.ID, ID: fmt.Sprintf("n%025d", i), Kind: accounts.NoticeResetLink, Status: accounts.NoticeQueued, JobID: job, CreatedAt: t0, UpdatedAt: t0}
		stamps = append(stamps, accounts.UserStamp{User: u, Notice: nt})
		ids = append(ids, u.ID)
	}
	// GetUsers reads them all, skips ids of nobody, and takes an id twice.
	got, err := st.GetUsers(ctx, "kpu", append(append([]string{id(999)}, ids...), ids[0]))
	if err != nil || len(got) != len(ids) || got[ids[3]].Username != "s03" {
		t.Fatalf("GetUsers: %d users, %v; want %d", len(got), err, len(ids))
	}

	stale := stamps[1]
	stale.User.Version = 7
	for _, tc := range []struct {
		name      string
		stamps    []accounts.UserStamp
		wantCode  accounts.Code
		stampedOf []int // indexes of stamps carrying the job afterwards
	}{
		{"one changed meanwhile", []accounts.UserStamp{stamps[0], stale, stamps[2]}, accounts.CodeConflict, nil},
		{"a full write", stamps[:accounts.MaxStampsPerWrite], "", seq(accounts.MaxStampsPerWrite)},
		{"stamped already", []accounts.UserStamp{stamps[0]}, accounts.CodeConflict, seq(accounts.MaxStampsPerWrite)},
		{"one stamped among new ones", stamps[accounts.MaxStampsPerWrite-1:], accounts.CodeConflict, seq(accounts.MaxStampsPerWrite)},
		{"too many", stamps, accounts.CodeInternal, seq(accounts.MaxStampsPerWrite)},
	} {
		err := st.ApplyUserStamps(ctx, job, t0, tc.stamps)
		switch {
		case tc.wantCode == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantCode != "" && !accounts.IsCode(err, tc.wantCode):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.wantCode)
		}
		after, err := st.GetUsers(ctx, "kpu", ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range stamps {
			want := slices.Contains(tc.stampedOf, i)
			if got := after[u.User.ID]; (got.ResetJob == job) != want || (want && got.ResetNotice != u.Notice.ID) {
				t.Errorf("%s: %s stamped %q with notice %q, want stamped %v", tc.name, got.Username, got.ResetJob, got.ResetNotice, want)
			}
			if _, err := st.GetNotice(ctx, "kpu", u.User.ID, u.Notice.ID); (err == nil) != want {
				t.Errorf("%s: notice of %s stored: %v, want %v", tc.name, u.User.Username, err == nil, want)
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
