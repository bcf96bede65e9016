package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// TestLookAlikeUsernamesAreRefused: each of these made a second account
// beside "ann", "bob", "sigma" or "jim" that no reader could tell apart.
func TestLookAlikeUsernamesAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	for _, name := range []string{"ann", "bob", "σίσυφοσ", "jim", "modern"} {
		f.user(t, admin, accounts.CreateUserInput{Username: name})
	}
	const pw = "a perfectly fine passphrase"
	for _, tc := range []struct{ name, username, says string }{
		{"Cyrillic a", "\u0430nn", "looks too much like"},
		{"Greek omicron", "b\u03bfb", "looks too much like"},
		{"variation selector", "bob\ufe0f", "invisible"},
		{"combining dot above", "bob\u0307", "looks too much like"},
		{"Hangul filler", "b\u3164ob", "invisible"},
		{"final sigma", "σίσυφος", "looks too much like"},
		{"without the accent", "σισυφοσ", "looks too much like"},
		{"rn for m", "jirn", "looks too much like"},
		{"m for rn", "rnodern", "looks too much like"},
		{"full width", "ＡＮＮ", "already taken"},
		{"ligature", "\ufb01m", ""}, // "fim": not like any of them
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: tc.username, Password: pw})
			if tc.says == "" {
				if err != nil {
					t.Fatalf("%q refused: %v", tc.username, err)
				}
				return
			}
			if accounts.PublicField(err) != "username" || !strings.Contains(accounts.PublicMessage(err), tc.says) {
				t.Fatalf("%q: %v, want a refusal on username saying %q", tc.username, err, tc.says)
			}
		})
	}

	// Renaming onto a look-alike is refused too, and a rename or a delete
	// frees the old look.
	u := f.user(t, admin, accounts.CreateUserInput{Username: "carl"})
	if _, err := f.svc.UpdateUser(ctx, admin, u.ID, u.Version, accounts.UserPatch{Username: ptr("c\u0430rl2")}); err != nil {
		t.Fatalf("rename to a free name: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "c\u0430rl", Password: pw}); err != nil {
		t.Fatalf("the old look was not freed by the rename: %v", err)
	}
	got, err := f.svc.GetUser(ctx, admin, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateUser(ctx, admin, u.ID, got.Version, accounts.UserPatch{Username: ptr("carl")}); accounts.PublicField(err) != "username" {
		t.Fatalf("rename onto a look-alike: %v", err)
	}
}
