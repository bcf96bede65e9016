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

// TestScopeShardPagesCoverEveryoneOnce: small pages over every shard of the
// user listing, and of a set, read each user exactly once.
func TestScopeShardPagesCoverEveryoneOnce(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	var want []string
	for i := range 40 {
		u := newUser("kpu", id(100+i), fmt.Sprintf("u%02d", i))
		if err := st.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	other := newUser("ubc", id(999), "elsewhere")
	if err := st.CreateUser(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	setID := id(500)
	if err := st.CreateSet(ctx, accounts.Set{TenantID: "kpu", ID: setID, Name: "s", Status: accounts.SetReady, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i, uid := range want[:25] {
		if _, err := st.AddSetMember(ctx, "kpu", setID, "job", accounts.SetMember{UserID: uid, Username: fmt.Sprintf("u%02d", i), Row: i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		set  string
		want []string
	}{{"", want}, {setID, want[:25]}} {
		var got []string
		for shard := range 16 {
			cursor := ""
			for pages := 0; ; pages++ {
				ids, next, err := st.ScopeShardPage(ctx, "kpu", tc.set, shard, 2, cursor)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids...)
				if next == "" {
					break
				}
				if pages > 40 {
					t.Fatal("a shard never ends")
				}
				cursor = next
			}
		}
		slices.Sort(got)
		w := slices.Clone(tc.want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("set %q: read %d ids %v, want %d", tc.set, len(got), got, len(w))
		}
	}
	// A cursor of one shard does not read another.
	_, next, err := st.ScopeShardPage(ctx, "kpu", "", 0, 1, "")
	for shard := 0; next == "" && shard < 15; shard++ {
		_, next, err = st.ScopeShardPage(ctx, "kpu", "", shard+1, 1, "")
	}
	if err != nil || next == "" {
		t.Fatalf("no shard with two users: %v", err)
	}
	for s := range 16 {
		if _, _, err := st.ScopeShardPage(ctx, "ubc", "", s, 1, next); accounts.ErrorCode(err) != accounts.CodeInvalid {
			t.Fatalf("another tenant's cursor: %v, want invalid", err)
		}
	}
}
